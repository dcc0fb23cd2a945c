package annotations

import "fmt"

// fmtValue prints a decoded value the way the tests compare it.
func fmtValue(v any) string {
	if ps, ok := v.(PortSet); ok {
		if ps.Numbers == nil {
			ps.Numbers = []int32{}
		}
		if ps.Names == nil {
			ps.Names = []string{}
		}
		return fmt.Sprintf("{%v %v %v}", ps.All, ps.Numbers, ps.Names)
	}
	return fmt.Sprintf("%v", v)
}
