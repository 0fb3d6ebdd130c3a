// Command _asm generates the store's amd64 assembly with avo:
//
//	go run . -out ../sha2x_amd64.s
//
// (run by go generate in the store package): blocks2SHANI, SHA-256's
// compression function over the same message blocks for two digests at
// once, and hasSHANI, the CPUID check for the SHA extensions. Both must
// agree with blocks2Generic bit for bit.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	blocks2()
	hasSHANI()
	Generate()
}

// Registers of blocks2SHANI. SHA256RNDS2 takes W+K in X0 (msg) and advances
// a digest held as two halves, ABEF and CDGH; the schedule of the block is
// computed once (m0 to m3) and fed to both digests, whose rounds interleave:
// one digest's rounds are a chain of dependent instructions, so the second's
// fill the gaps in the same cycles.
var (
	aPtr     GPPhysical  = RDI // first digest, [8]uint32 in H0..H7 order
	bPtr                 = R8  // second digest
	dataPtr              = RSI // current block
	endPtr               = RDX // end of the last whole block
	kPtr                 = RAX // the round constants
	msg      VecPhysical = X0  // W+K of the next four rounds
	a0                   = X1  // first digest: ABEF
	a1                   = X2  //               CDGH
	m0                   = X3  // message schedule
	m1                   = X4
	m2                   = X5
	m3                   = X6
	tmp                  = X7
	shufMask             = X8 // big-endian words of the block
	aSave0               = X9 // digests before the block, added back after
	aSave1               = X10
	b0                   = X11 // second digest: ABEF
	b1                   = X12 //                CDGH
	bSave0               = X13
	bSave1               = X14
)

// blocks2 is adapted from the Go standard library's SHA-NI block function
// (crypto/internal/fips140/sha256/_asm/sha256block_amd64_shani.go,
// BSD-licensed; after Gulley et al., "New Instructions Supporting the Secure
// Hash Algorithm on Intel Architecture Processors", 2013), with every
// SHA256RNDS2 done for two digests.
func blocks2() {
	TEXT("blocks2SHANI", NOSPLIT, "func(a, b *[8]uint32, p []byte)")
	Doc("blocks2SHANI runs SHA-256's compression over every whole 64-byte block of p for the digests a and b.")
	Load(Param("a"), aPtr)
	Load(Param("b"), bPtr)
	Load(Param("p").Base(), dataPtr)
	Load(Param("p").Len(), endPtr)
	SHRQ(Imm(6), endPtr)
	SHLQ(Imm(6), endPtr)
	JZ(LabelRef("done"))
	ADDQ(dataPtr, endPtr)
	loadDigest(aPtr, a0, a1)
	loadDigest(bPtr, b0, b1)
	MOVOU(flipMask(), shufMask)
	LEAQ(roundConstants(), kPtr)

	Label("loop")
	MOVO(a0, aSave0)
	MOVO(a1, aSave1)
	MOVO(b0, bSave0)
	MOVO(b1, bSave1)

	Comment("rounds 0-11: the block's first twelve words")
	firstRounds(m0, nil, 0)
	firstRounds(m1, m0, 1)
	firstRounds(m2, m1, 2)
	MOVOU(Mem{Base: dataPtr}.Offset(3*16), msg)
	PSHUFB(shufMask, msg)

	Comment("rounds 12-59: the rest of the schedule")
	laterRounds(m3, 3, m2, m0, true, true)
	laterRounds(m0, 4, m3, m1, true, false)
	laterRounds(m1, 5, m0, m2, true, false)
	laterRounds(m2, 6, m1, m3, true, false)
	laterRounds(m3, 7, m2, m0, true, false)
	laterRounds(m0, 8, m3, m1, true, false)
	laterRounds(m1, 9, m0, m2, true, false)
	laterRounds(m2, 10, m1, m3, true, false)
	laterRounds(m3, 11, m2, m0, true, false)
	laterRounds(m0, 12, m3, m1, true, false)
	laterRounds(m1, 13, m0, m2, false, false)
	laterRounds(m2, 14, m1, m3, false, false)

	Comment("rounds 60-63")
	MOVO(m3, msg)
	PADDD(Mem{Base: kPtr}.Offset(15*16), msg)
	rounds4()

	PADDD(aSave0, a0)
	PADDD(aSave1, a1)
	PADDD(bSave0, b0)
	PADDD(bSave1, b1)
	ADDQ(Imm(64), dataPtr)
	CMPQ(endPtr, dataPtr)
	JNE(LabelRef("loop"))

	storeDigest(aPtr, a0, a1)
	storeDigest(bPtr, b0, b1)
	Label("done")
	RET()
}

// rounds4 runs four rounds of both digests with W+K in msg.
func rounds4() {
	SHA256RNDS2(msg, a0, a1)
	SHA256RNDS2(msg, b0, b1)
	PSHUFD(Imm(0x0e), msg, msg)
	SHA256RNDS2(msg, a1, a0)
	SHA256RNDS2(msg, b1, b0)
}

// firstRounds loads the block's words 4c to 4c+3 into m and runs their
// rounds; prev, the words before, starts its part of the schedule.
func firstRounds(m, prev VecPhysical, c int) {
	MOVOU(Mem{Base: dataPtr}.Offset(c*16), msg)
	PSHUFB(shufMask, msg)
	MOVO(msg, m)
	PADDD(Mem{Base: kPtr}.Offset(c*16), msg)
	rounds4()
	if prev != nil {
		SHA256MSG1(m, prev)
	}
}

// laterRounds runs the rounds of schedule words 4c to 4c+3 (in m) and
// computes the next ones into t; msg1 continues the schedule with prev,
// and first marks rounds 12-15, whose words come from msg.
func laterRounds(m VecPhysical, c int, prev, t VecPhysical, msg1, first bool) {
	if first {
		MOVO(msg, m)
	} else {
		MOVO(m, msg)
	}
	PADDD(Mem{Base: kPtr}.Offset(c*16), msg)
	SHA256RNDS2(msg, a0, a1)
	SHA256RNDS2(msg, b0, b1)
	MOVO(m, tmp)
	PALIGNR(Imm(4), prev, tmp)
	PADDD(tmp, t)
	SHA256MSG2(m, t)
	PSHUFD(Imm(0x0e), msg, msg)
	SHA256RNDS2(msg, a1, a0)
	SHA256RNDS2(msg, b1, b0)
	if msg1 {
		SHA256MSG1(m, prev)
	}
}

// loadDigest loads H0..H7 from ptr as ABEF and CDGH.
func loadDigest(ptr GPPhysical, abef, cdgh VecPhysical) {
	MOVOU(Mem{Base: ptr}, abef)            // DCBA
	MOVOU(Mem{Base: ptr}.Offset(16), cdgh) // HGFE
	PSHUFD(Imm(0xb1), abef, abef)          // CDAB
	PSHUFD(Imm(0x1b), cdgh, cdgh)          // EFGH
	MOVO(abef, tmp)
	PALIGNR(Imm(8), cdgh, abef) // ABEF
	PBLENDW(Imm(0xf0), tmp, cdgh)
}

// storeDigest stores ABEF and CDGH back as H0..H7.
func storeDigest(ptr GPPhysical, abef, cdgh VecPhysical) {
	PSHUFD(Imm(0x1b), abef, abef)
	PSHUFD(Imm(0xb1), cdgh, cdgh)
	MOVO(abef, tmp)
	PBLENDW(Imm(0xf0), cdgh, abef)
	PALIGNR(Imm(8), tmp, cdgh)
	MOVOU(abef, Mem{Base: ptr})
	MOVOU(cdgh, Mem{Base: ptr}.Offset(16))
}

func flipMask() Mem {
	m := GLOBL("sha2xFlipMask", RODATA|NOPTR)
	DATA(0, U64(0x0405060700010203))
	DATA(8, U64(0x0c0d0e0f08090a0b))
	return m
}

func roundConstants() Mem {
	m := GLOBL("sha2xK", RODATA|NOPTR)
	for i, k := range sha256K {
		DATA(4*i, U32(k))
	}
	return m
}

var sha256K = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// hasSHANI reports whether CPUID leaf 7 lists the SHA extensions.
func hasSHANI() {
	TEXT("hasSHANI", NOSPLIT, "func() bool")
	Doc("hasSHANI reports whether the CPU has the SHA extensions (CPUID.(EAX=7,ECX=0):EBX bit 29).")
	XORL(EAX, EAX)
	CPUID()
	CMPL(EAX, Imm(7))
	JB(LabelRef("no"))
	MOVL(U32(7), EAX)
	XORL(ECX, ECX)
	CPUID()
	SHRL(Imm(29), EBX)
	ANDL(Imm(1), EBX)
	Store(BL, ReturnIndex(0))
	RET()
	Label("no")
	MOVB(U8(0), AL)
	Store(AL, ReturnIndex(0))
	RET()
}
