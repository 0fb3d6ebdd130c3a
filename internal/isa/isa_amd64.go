//go:build !purego

package isa

import "golang.org/x/sys/cpu"

// Best is the widest level this CPU (and its operating system) supports.
var Best = detect()

func detect() Level {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ:
		// DQ: merge/kernel's TIES kernels use VANDPS/VXORPS on zmm registers.
		return AVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasF16C:
		return AVX2
	}
	return Generic
}
