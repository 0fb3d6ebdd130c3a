package merge

// lowRankRow writes one row of a low-rank product:
//
//	row[i] = float32(s · acc[i]),  acc[i] = Σₖ float32(coef[k]·basis[k·n+i])
//
// with n = len(row), the sum taken over k = 0, 1, … in order from +0, each
// product rounded to float32 before it is added (no fused multiply-add).
// basis holds len(coef) rows of n values.
func lowRankRow(row, coef, basis []float32, s float32) {
	n := len(row)
	clear(row)
	for k, c := range coef {
		b := basis[k*n : (k+1)*n]
		for i := range row {
			row[i] = row[i] + float32(c*b[i])
		}
	}
	for i := range row {
		row[i] = float32(s * row[i])
	}
}
