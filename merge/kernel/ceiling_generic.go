package kernel

import "encoding/binary"

func xorNGeneric(dst []byte, srcs [][]byte) {
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		v := binary.LittleEndian.Uint64(srcs[0][i:])
		for _, s := range srcs[1:] {
			v ^= binary.LittleEndian.Uint64(s[i:])
		}
		binary.LittleEndian.PutUint64(dst[i:], v)
	}
	for ; i < len(dst); i++ {
		v := srcs[0][i]
		for _, s := range srcs[1:] {
			v ^= s[i]
		}
		dst[i] = v
	}
}
