package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s has no go.mod: %v", root, err)
	}
	if p := Project(t, "README.md"); filepath.Base(filepath.Dir(p)) != "testdata" {
		t.Errorf("Project(README.md) = %s", p)
	}
}

func TestExecCases(t *testing.T) {
	for _, dir := range ExecCases(t) {
		if _, err := os.Stat(filepath.Join(dir, "snapshot.zst")); err != nil {
			t.Error(err)
		}
	}
}
