package merge

import (
	"fmt"
)

// loraReader expands ΔW = s·B·A (or its transpose) a row at a time. It holds
// A and B whole (r·(in+out) values, small beside the tensor) and one row.
type loraReader struct {
	coefs []float32 // per output row, its r coefficients, row after row
	basis []float32 // r rows of cols values each
	cols  int64
	rank  int
	scale float32
	row   []float32
	rowAt int64 // the row held in row; -1 for none
}

// newLoRAReader loads an adapted tensor's two factors. Normally row o of ΔW
// is Σₖ B[o,k]·A[k,:]; transposed, row a is Σₖ A[k,a]·Bᵀ[k,:].
func newLoRAReader(m *Model, lt loraTensor, bt Tensor) (*loraReader, error) {
	a, b, err := loadFactors(m, lt)
	if err != nil {
		return nil, err
	}
	r, in, out := int(lt.rank), int(lt.a.Shape[1]), int(lt.b.Shape[0])
	lr := &loraReader{rank: r, scale: float32(lt.scale), rowAt: -1}
	if !lt.transposed {
		lr.coefs, lr.basis, lr.cols = b, a, int64(in) // B is [out, r]: row o's coefficients are B[o,:]
	} else {
		lr.coefs, lr.basis, lr.cols = transpose(a, r, in), transpose(b, out, r), int64(out)
	}
	if bt.NumElements() != int64(len(lr.coefs)/r)*lr.cols {
		return nil, fmt.Errorf("%w: adapter %s: %s does not expand to %v", ErrIncompatible, m.Name, bt.Name, bt.Shape)
	}
	lr.row = make([]float32, lr.cols)
	return lr, nil
}

// loadFactors reads an adapted tensor's A and B whole.
func loadFactors(m *Model, lt loraTensor) (a, b []float32, err error) {
	if a, err = loadFactor(m, lt.a); err == nil {
		b, err = loadFactor(m, lt.b)
	}
	return a, b, err
}

// loadFactor reads a whole LoRA factor and checks that it is finite.
func loadFactor(m *Model, t Tensor) ([]float32, error) {
	n := t.NumElements()
	v := make([]float32, n)
	if err := readFloats(m, t, 0, v, make([]byte, n*int64(t.DType.Size()))); err != nil {
		return nil, err
	}
	if i := firstNonFinite(v); i >= 0 {
		return nil, fmt.Errorf("%w: adapter %s: tensor %q: element %d is %v", ErrIncompatible, m.Name, t.Name, i, v[i])
	}
	return v, nil
}

// transpose returns the [cols, rows] transpose of a [rows, cols] matrix.
func transpose(x []float32, rows, cols int) []float32 {
	out := make([]float32, len(x))
	for i := range rows {
		for j := range cols {
			out[j*rows+i] = x[i*cols+j]
		}
	}
	return out
}

func (lr *loraReader) read(off int64, dst []float32) error {
	for done := int64(0); done < int64(len(dst)); {
		pos := off + done
		row, col := pos/lr.cols, pos%lr.cols
		if row != lr.rowAt {
			lowRankRow(lr.row, lr.coefs[row*int64(lr.rank):(row+1)*int64(lr.rank)], lr.basis, lr.scale)
			lr.rowAt = row
		}
		done += int64(copy(dst[done:], lr.row[col:]))
	}
	return nil
}
