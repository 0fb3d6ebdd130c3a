package demo

import (
	"fmt"
	"strings"
)

// A Method is how the hub merges a round of the study group: a recipe's
// merge_method, its top-level parameters and each model's.
type Method struct {
	Name   string // merge_method
	Params string // the recipe's parameters, YAML flow mapping entries ("density: 0.2"); "" for none
	Model  string // each model's parameters, likewise
}

// Methods are the merges the study group compares (`--method all`), the
// default first. Each averages the labs' deltas in its own way:
//
//   - ties: TIES (trim each delta to its 20% largest magnitudes, elect a
//     sign per element, the mean of the agreeing values);
//   - task_arithmetic: the mean of the deltas (normalize: the weights sum
//     to 1);
//   - dare_ties: DARE (keep each element with probability 0.5, rescaled)
//     then TIES's sign election, normalised as ties is;
//   - fedavg: the mean weighted by each delta's training images, which its
//     lab records in the delta's manifest when it publishes;
//   - median: the coordinate-wise median of the deltas;
//   - trimmed_mean: the mean after dropping each coordinate's ⌊0.34·n⌋
//     largest and smallest values (one of each for 3 to 5 labs: for 3
//     labs, the median).
var Methods = []Method{
	{Name: "ties", Params: "density: 0.2", Model: "weight: 1"},
	{Name: "task_arithmetic", Params: "normalize: true", Model: "weight: 1"},
	{Name: "dare_ties", Params: "density: 0.5, normalize: true", Model: "weight: 1"},
	{Name: "fedavg"},
	{Name: "median"},
	{Name: "trimmed_mean", Params: "beta: 0.34"},
}

// MethodNamed returns the Method of Methods named name.
func MethodNamed(name string) (Method, error) {
	var names []string
	for _, m := range Methods {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return Method{}, fmt.Errorf("merge method %q: the study group runs %s (or all of them: all)", name, strings.Join(names, ", "))
}

// String is the method with its parameters, as the tables name it.
func (m Method) String() string {
	p := strings.TrimPrefix(strings.Join([]string{m.Params, m.Model}, ", "), ", ")
	p = strings.TrimSuffix(p, ", ")
	if p == "" {
		return m.Name
	}
	return m.Name + " {" + p + "}"
}

// recipe is the round's merge of deltas over base.
func (m Method) recipe(base string, deltas []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "merge_method: %s\nbase_model: %s\n", m.Name, base)
	if m.Params != "" {
		fmt.Fprintf(&b, "parameters: {%s}\n", m.Params)
	}
	b.WriteString("models:\n")
	for _, d := range deltas {
		fmt.Fprintf(&b, "  - model: %s\n", d)
		if m.Model != "" {
			fmt.Fprintf(&b, "    parameters: {%s}\n", m.Model)
		}
	}
	return b.String()
}
