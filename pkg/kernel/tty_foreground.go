package kernel

import "bulwark.dev/pkg/abi/linux"

// SignalProcessForeground sends sig where a keyboard would: to the
// foreground process group of the terminal controlling process pid's
// session. When that session has no controlling terminal it sends sig to
// pid itself, as Signal does. It is what the host process standing for an
// exec'd process with a terminal does with the signals it receives: that
// process holds the host side of the terminal, so ^C typed there reaches
// it, not the sandbox.
func (k *Kernel) SignalProcessForeground(pid int32, sig int) error {
	if sig < 0 || sig > linux.NumSignals {
		return linux.EINVAL
	}
	k.mu.Lock()
	tg := k.tgs[pid]
	if tg == nil || tg.zombie {
		k.mu.Unlock()
		return linux.ESRCH
	}
	if _, tt := k.sessionTerminalLocked(tg.sid); tt != nil {
		if sig != 0 {
			k.signalGroupLocked(tt.pgrp, sig)
		}
		k.mu.Unlock()
		return nil
	}
	k.mu.Unlock()
	return k.Signal(pid, sig)
}
