//go:build !(linux && (amd64 || arm64))

package eventring

func (m *mapping) populateWrite(sizes Sizes) {}
