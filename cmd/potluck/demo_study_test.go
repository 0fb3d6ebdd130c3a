package main

import "testing"

// TestDemoStudyGroupFlags: the study group's flags without --study-group,
// or out of range, are refused before anything starts, saying what to do.
func TestDemoStudyGroupFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--rounds", "2"}, "demo: --rounds is a study group's: add --study-group"},
		{[]string{"demo", "--method", "median"}, "demo: --method is a study group's: add --study-group"},
		{[]string{"demo", "--study-group", "--labs", "1"}, "demo: --labs 1: a study group has 2 to 10 labs"},
		{[]string{"demo", "--study-group", "--rounds", "0"}, "demo: --rounds 0: a study group runs at least 1 round"},
		{[]string{"demo", "--study-group", "--method", "slerp"},
			`demo: merge method "slerp": the study group runs ties, task_arithmetic, dare_ties, fedavg, median, trimmed_mean (or all of them: all)`},
	} {
		_, _, err := run(t, c.args...)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v: %v, want %s", c.args, err, c.want)
		}
	}
}
