package pipeline

import "github.com/evalnll/evalnll/internal/reader"

// FirstListIsPair reports whether the first non-null list of col, in input
// order, has 2 elements (scikit-learn's predict_proba pairs). Inputs
// without units (a stream given as a pipe) are not peeked at.
func FirstListIsPair(files []reader.File, col string) bool {
	for _, f := range files {
		for _, u := range f.Units() {
			s := f.Scan(u.Index, []string{col}, 256)
			for s.Next() {
				c := s.Batch().Cols[0]
				for i := range c.Len {
					if !c.IsNull(i) {
						pair := c.Offsets[i+1]-c.Offsets[i] == 2 // before Close frees the batch
						s.Close()
						return pair
					}
				}
			}
			s.Close()
		}
	}
	return false
}
