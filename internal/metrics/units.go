package metrics

// inUnits converts the NLL figures of r that are still in nats (per class,
// worst rows, bootstrap intervals, biases and replicates; Acc.Summary converted the
// overall and slice figures) into u. With Acc.Summary, the one place where
// nats become the report's units.
func (r *Result) inUnits(u Units) {
	scale := u.Scale()
	for i := range r.PerClass {
		r.PerClass[i].NLL /= scale
	}
	for i := range r.Worst {
		r.Worst[i].NLL /= scale
	}
	for i := range r.WorstPerToken {
		r.WorstPerToken[i].NLL /= scale
	}
	if b := r.Bootstrap; b != nil {
		for i, name := range b.Metrics {
			if name == "nll" || name == "nll_per_token" {
				b.Lo[i] /= scale
				b.Hi[i] /= scale
				if i < len(b.Bias) {
					b.Bias[i] /= scale
				}
				for j := range b.Replicates[i] {
					b.Replicates[i][j] /= scale
				}
			}
		}
	}
}
