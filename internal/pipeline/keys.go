package pipeline

import "github.com/evalnll/evalnll/store"

// InputKeys returns, for each opened file name (a path from Expand of
// args), its bootstrap key: its path relative to the input it was found
// under (ExpandKeys). A name the expansion does not list keeps itself as
// its key.
func InputKeys(args, names []string) []string {
	keys := make([]string, len(names))
	copy(keys, names)
	paths, ks, err := ExpandKeys(args)
	if err != nil {
		return keys
	}
	byPath := make(map[string]string, len(paths))
	for i, p := range paths {
		byPath[store.Redact(p)] = ks[i] // an object's name hides secret parameters
	}
	for i, n := range names {
		if k, ok := byPath[n]; ok {
			keys[i] = k
		}
	}
	return keys
}
