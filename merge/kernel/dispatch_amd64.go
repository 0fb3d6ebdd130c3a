//go:build !purego

package kernel

import "golang.org/x/sys/cpu"

// best is the widest level this CPU (and its operating system) supports.
var best = detect()

func detect() level {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ:
		// DQ: the TIES kernels use VANDPS/VXORPS on zmm registers.
		return avx512
	case cpu.X86.HasAVX2 && cpu.X86.HasF16C:
		return avx2
	}
	return generic
}
