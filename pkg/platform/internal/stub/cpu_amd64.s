#include "textflag.h"

// func lslCPU() (v uint32, ok bool)
//
// LSL on the per-CPU segment Linux sets up for the vDSO's getcpu
// (GDT_ENTRY_CPUNODE, selector 15*8+3): its limit holds node<<12 | cpu.
TEXT ·lslCPU(SB), NOSPLIT, $0-5
	MOVL $0x7b, AX
	MOVL $0, BX
	LSLL AX, BX
	SETEQ ok+4(FP)
	MOVL BX, v+0(FP)
	RET
