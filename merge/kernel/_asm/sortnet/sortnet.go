// Package sortnet holds the sorting networks the robust kernels' generators
// emit (the median and trimmed mean of N inputs, per element): the
// networks of fewest comparators known for small N, Batcher's and Green's
// for more, and the median's pruning, each checked on every 0-1 input when
// it is built.
package sortnet

import (
	"fmt"
	"math/bits"
	"slices"
)

// A Comparator (i, j), i < j, leaves the smaller key on
// wire i and the larger on wire j.

type Comparator [2]int

// optimal are networks of the fewest comparators for 2 to 8 wires (Knuth,
// TAOCP vol. 3, 5.3.4).
var optimal = map[int][]Comparator{
	2: {{0, 1}},
	3: {{0, 2}, {0, 1}, {1, 2}},
	4: {{0, 1}, {2, 3}, {0, 2}, {1, 3}, {1, 2}},
	5: {{0, 1}, {3, 4}, {2, 4}, {2, 3}, {0, 3}, {0, 2}, {1, 4}, {1, 3}, {1, 2}},
	6: {{1, 2}, {4, 5}, {0, 2}, {3, 5}, {0, 1}, {3, 4}, {2, 5}, {0, 3}, {1, 4}, {2, 4}, {1, 3}, {2, 3}},
	7: {{1, 2}, {3, 4}, {5, 6}, {0, 2}, {3, 5}, {4, 6}, {0, 1}, {4, 5}, {2, 6}, {0, 4}, {1, 5}, {0, 3},
		{2, 5}, {1, 3}, {2, 4}, {2, 3}},
	8: {{0, 2}, {1, 3}, {4, 6}, {5, 7}, {0, 4}, {1, 5}, {2, 6}, {3, 7}, {0, 1}, {2, 3}, {4, 5}, {6, 7},
		{2, 4}, {3, 5}, {1, 4}, {3, 6}, {1, 2}, {3, 4}, {5, 6}},
}

// green16 is Green's network of 60 comparators for 16 wires: the four
// layers of a hypercube, then 28 more. Truncated (see truncate) it gives
// 26, 31, 36, 40, 46, 51 and 56 comparators for 9 to 15 wires, against
// Batcher's 28, 32, 38, 42, 48, 53 and 59.
var green16 = func() []Comparator {
	var cs []Comparator
	for _, d := range []int{1, 2, 4, 8} {
		for i := range 16 {
			if i&d == 0 {
				cs = append(cs, Comparator{i, i | d})
			}
		}
	}
	return append(cs, []Comparator{
		{5, 10}, {6, 9}, {3, 12}, {13, 14}, {7, 11}, {1, 2}, {4, 8},
		{1, 4}, {7, 13}, {2, 8}, {11, 14}, {5, 6}, {9, 10},
		{2, 4}, {11, 13}, {3, 8}, {7, 12},
		{6, 8}, {10, 12}, {3, 5}, {7, 9},
		{3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12},
		{6, 7}, {8, 9},
	}...)
}()

// batcher is Batcher's odd–even merge sort for n wires.
func batcher(n int) []Comparator {
	var cs []Comparator
	for p := 1; p < n; p <<= 1 {
		for k := p; k >= 1; k >>= 1 {
			for j := k % p; j+k < n; j += 2 * k {
				for i := 0; i < min(k, n-j-k); i++ {
					if (i+j)/(2*p) == (i+j+k)/(2*p) {
						cs = append(cs, Comparator{i + j, i + j + k})
					}
				}
			}
		}
	}
	return cs
}

// truncate is the network for the first n wires of a larger one: the
// wires above n hold +∞, which no comparator moves, so the comparators
// that touch them do nothing.
func truncate(cs []Comparator, n int) []Comparator {
	var t []Comparator
	for _, c := range cs {
		if c[1] < n {
			t = append(t, c)
		}
	}
	return t
}

// Network is the sorting network used for n wires: the optimal one, else
// the smaller of Batcher's and the truncated Green network. Each is
// checked on every input of zeros and ones (the 0-1 principle).
func Network(n int) []Comparator {
	cs, ok := optimal[n]
	if !ok && n > 1 {
		cs = batcher(n)
		if n <= 16 {
			if g := truncate(green16, n); len(g) < len(cs) {
				cs = g
			}
		}
	}
	var ops []Op
	for _, c := range cs {
		ops = append(ops, Op{c[0], c[1], Full})
	}
	outs := make([]int, n)
	for i := range outs {
		outs[i] = i
	}
	check(n, ops, outs, false)
	return cs
}

// An Op is a comparator as emitted: both outputs, or only the one a later
// op or the result reads.
type Op struct {
	I, J int
	Kind Kind
}

type Kind int

const (
	Full    Kind = iota
	MinOnly      // wire i = min; wire j keeps a value nothing reads
	MaxOnly      // wire j = max; likewise wire i
)

// MedianOps is the network of n wires pruned to what the median reads:
// position n/2, or positions n/2−1 and n/2 in either order when n is even
// (their sum is the same), so a last comparator between those two goes.
// From the end, a comparator neither of whose outputs is read is dropped,
// one with a single output read computes only that one.
func MedianOps(n int) []Op {
	cs := Network(n)
	need := make([]bool, n)
	outs := []int{n / 2}
	if n%2 == 0 {
		outs = []int{n/2 - 1, n / 2}
	}
	for _, o := range outs {
		need[o] = true
	}
	unordered := n%2 == 0 // the pair's order does not matter yet
	var ops []Op
	for c := len(cs) - 1; c >= 0; c-- {
		i, j := cs[c][0], cs[c][1]
		if unordered {
			if i == outs[0] && j == outs[1] {
				continue
			}
			if need[i] || need[j] {
				unordered = false
			}
		}
		var o Op
		switch {
		case need[i] && need[j]:
			o = Op{i, j, Full}
		case need[i]:
			o = Op{i, j, MinOnly}
		case need[j]:
			o = Op{i, j, MaxOnly}
		default:
			continue
		}
		need[i], need[j] = true, true
		ops = append(ops, o)
	}
	slices.Reverse(ops)
	check(n, ops, outs, n%2 == 0)
	return ops
}

// checkMax is the most wires check tries every 0-1 input of; the
// networks of more wires (Batcher's, by construction) are left to the
// kernel package's tests.
const checkMax = 24

// check panics unless ops leave on wires outs the sorted positions outs of
// every input of zeros and ones, which by the 0-1 principle makes them
// right for every input (as a pair in either order when pair is set). It
// runs 64 inputs at a time, bit t of a wire's word belonging to input
// base+t: a comparator is an AND (the minimum) and an OR (the maximum).
func check(n int, ops []Op, outs []int, pair bool) {
	if n > checkMax {
		return
	}
	// low[w] are wire w's bits for t = 0…63 (w < 6); atLeast[c] has bit t
	// set when t has at least c ones.
	var low [6]uint64
	var atLeast [8]uint64
	for t := range 64 {
		for w := range 6 {
			if t>>w&1 == 1 {
				low[w] |= 1 << t
			}
		}
		for c := 0; c <= bits.OnesCount(uint(t)); c++ {
			atLeast[c] |= 1 << t
		}
	}
	v := make([]uint64, max(n, 6))
	for base := 0; base < 1<<n; base += 64 {
		for w := range n {
			switch {
			case w < 6:
				v[w] = low[w]
			case base>>w&1 == 1:
				v[w] = ^uint64(0)
			default:
				v[w] = 0
			}
		}
		for _, o := range ops {
			lo, hi := v[o.I]&v[o.J], v[o.I]|v[o.J]
			switch o.Kind {
			case Full:
				v[o.I], v[o.J] = lo, hi
			case MinOnly:
				v[o.I] = lo
			case MaxOnly:
				v[o.J] = hi
			}
		}
		valid := ^uint64(0) // the t with base+t < 2ⁿ
		if n < 6 {
			valid = 1<<(1<<n) - 1
		}
		// want(p): sorted position p is a one when the input has at least
		// n − p ones.
		want := func(p int) uint64 {
			c := n - p - bits.OnesCount(uint(base))
			switch {
			case c <= 0:
				return ^uint64(0)
			case c > 6:
				return 0
			}
			return atLeast[c]
		}
		got := make([]uint64, len(outs))
		for x, o := range outs {
			got[x] = v[o]
		}
		if pair {
			got[0], got[1] = got[0]&got[1], got[0]|got[1]
		}
		for x, o := range outs {
			if bad := (got[x] ^ want(o)) & valid; bad != 0 {
				panic(fmt.Sprintf("network of %d wires fails on %0*b", n, n, base+bits.TrailingZeros64(bad)))
			}
		}
	}
}
