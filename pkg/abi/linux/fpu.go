package linux

// Markers of the extended FPU state in a signal frame (struct
// _fpx_sw_bytes in the software-reserved bytes of the FXSAVE area, and a
// trailing magic after the XSAVE area).
const (
	FP_XSTATE_MAGIC1      = 0x46505853
	FP_XSTATE_MAGIC2      = 0x46505845
	FP_XSTATE_MAGIC2_SIZE = 4

	FXSaveSize      = 512 // the legacy FXSAVE area
	FPSWBytesOffset = 464 // _fpx_sw_bytes inside it
	XSaveHeaderEnd  = 576 // FXSAVE area plus the 64-byte XSAVE header
)
