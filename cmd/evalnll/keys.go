package main

import (
	"github.com/evalnll/evalnll/pipeline"
	"github.com/evalnll/evalnll/store"
)

// inputKeys returns, for each opened file name (a path from pipeline.Expand
// of args), its bootstrap key: its path relative to the input it was found
// under (pipeline.ExpandKeys). A name the expansion does not list keeps
// itself as its key.
func inputKeys(args, names []string) []string {
	keys := make([]string, len(names))
	copy(keys, names)
	paths, ks, err := pipeline.ExpandKeys(args)
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
