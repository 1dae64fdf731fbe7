//go:build !amd64 || race

package eventring

// run copies the payloads of descs[0], descs[1], ... into dst, recording
// their offsets in offs (as long as descs), until one is impossible or
// does not fit, and returns how many it copied. The race detector uses this
// version on amd64 too: it sees copy's writes, not copyRun's.
func (b *batchCopy) run(descs []Descriptor, offs []int) int {
	offs = offs[:len(descs)]
	for i := range descs {
		if !b.step(&descs[i], &offs[i]) {
			return i
		}
	}
	return len(descs)
}
