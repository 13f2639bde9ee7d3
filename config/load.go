package config

import "errors"

// sortErrors keeps validation output stable (map iteration above is unordered).
func sortErrors(err error) error {
	if err == nil {
		return nil
	}
	list := flatten(err)
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].Error() < list[j-1].Error(); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	return errors.Join(list...)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
