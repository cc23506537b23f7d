package route

// Param is one matched path parameter.
type Param struct{ Name, Value string }

// Params are the parameters of a matched template, left to right. Values
// are raw path segments; a greedy parameter's value is the rest of the path
// joined with "/" (without a trailing slash).
type Params []Param

// Get returns the value of the parameter name, or "" if there is none.
func (p Params) Get(name string) string {
	for _, x := range p {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}
