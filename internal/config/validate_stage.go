package config

import "fmt"

// mappingStages checks that each mapping's stage names a stage of its API
// (or, when empty, that the API does not have several).
func (v *validator) mappingStages(c *Config, d *Domain, path string, apis map[string]int) {
	for j := range d.Mappings {
		m := &d.Mappings[j]
		i, ok := apis[m.API]
		if !ok {
			continue // reported with the mapping
		}
		a := &c.APIs[i]
		p := fmt.Sprintf("%s.mappings[%d].stage", path, j)
		switch {
		case m.Stage != "":
			if a.Stage(m.Stage) == nil {
				v.add(p, "no stage named %s in API %s", quote(m.Stage), quote(a.Name))
			}
		case len(a.Stages) > 1:
			v.add(p, "required: API %s has %d stages, so name the one this mapping serves", quote(a.Name), len(a.Stages))
		}
	}
}

// Stage returns the stage named name, or nil.
func (a *API) Stage(name string) *Stage {
	for i := range a.Stages {
		if a.Stages[i].Name == name {
			return &a.Stages[i]
		}
	}
	return nil
}

// MappedStage returns the stage a mapping to a serves: the named one, or
// the API's only stage, or nil.
func (a *API) MappedStage(m *Mapping) *Stage {
	if m.Stage != "" {
		return a.Stage(m.Stage)
	}
	if len(a.Stages) == 1 {
		return &a.Stages[0]
	}
	return nil
}
