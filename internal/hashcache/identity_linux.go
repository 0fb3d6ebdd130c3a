package hashcache

import (
	"fmt"
	"os"
	"syscall"
)

// identify reads the identity of the file at p.
func identify(p string) (identity, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return identity{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return identity{}, fmt.Errorf("%w: %s", errNoIdentity, p)
	}
	return identity{Dev: st.Dev, Ino: st.Ino, Size: st.Size,
		MtimeNs: st.Mtim.Nano(), CtimeNs: st.Ctim.Nano()}, nil
}
