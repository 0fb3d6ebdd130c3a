package browsertest

import (
	"strings"
	"testing"
)

// Without Chromium the harness fails, and says how to install it.
func TestMissingChromiumSaysHowToInstall(t *testing.T) {
	_, err := start("/nonexistent/chromium")
	if err == nil || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Fatalf("start without Chromium: %v, want an error naming `apt-get install chromium`", err)
	}
}
