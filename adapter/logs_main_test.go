package adapter

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind. The package's
// other tests may bring a TestMain of their own: only one can stay.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
