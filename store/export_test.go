package store

// PlanBytes returns the planned bytes held or in flight now, and the most
// at once so far.
func (c *Client) PlanBytes() (now, peak int64) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.plan.bytes, c.plan.peak
}
