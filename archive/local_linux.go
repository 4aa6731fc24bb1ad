//go:build linux

package archive

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"syscall"

	"golang.org/x/sys/unix"
)

// Every walk through an os.Root opens and closes each folder of a path in
// turn, and checkNoSymlinks looks at each prefix of a key on its own: for a
// key seven names deep that is some fifty system calls per check, and a
// file is checked, created and committed at least three times. On Linux,
// openat2 with RESOLVE_NO_SYMLINKS opens a key's folder in one system call
// and fails if any name on the way is a symbolic link, which is exactly
// what checkNoSymlinks asks of the folders. The helpers below are that fast
// path; whenever it cannot answer (a missing folder, a link or a file on
// the way, a kernel without openat2) the callers take the os.Root walk,
// which gives the answer and the error.

// openRootDir opens the archive folder for the fast path: through root, so
// it is the very folder the root holds.
func openRootDir(root *os.Root) (*os.File, syscall.RawConn) {
	f, err := root.Open(".")
	if err != nil {
		return nil, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil
	}
	return f, rc
}

// openParent opens the folder of key (the archive folder itself for a key
// of one name) when every name on the way exists, is a folder and is not a
// symbolic link; ok is false otherwise, and then nothing is open. The
// archive folder's descriptor is used under RawConn.Control, so a Local
// being closed cannot have it reused for another file meanwhile.
func (l *Local) openParent(key string) (fd int, ok bool) {
	if l.rootConn == nil {
		return -1, false
	}
	var err error
	cerr := l.rootConn.Control(func(root uintptr) {
		fd, err = unix.Openat2(int(root), path.Dir(key), &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
	})
	if cerr != nil || err != nil {
		return -1, false
	}
	return fd, true
}

// lastIsSafe reports whether the last name of key, in its folder fd opened
// by openParent, is missing or not a symbolic link.
func lastIsSafe(fd int, key string) bool {
	var st unix.Stat_t
	err := unix.Fstatat(fd, path.Base(key), &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return true
	}
	return err == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK
}

// fastNoSymlinks is checkNoSymlinks in three system calls for a key that
// passes; false means the os.Root walk must answer (and give the refusal's
// error).
func (l *Local) fastNoSymlinks(key string) (passed bool) {
	fd, ok := l.openParent(key)
	if !ok {
		return false
	}
	defer unix.Close(fd)
	return lastIsSafe(fd, key)
}

// fastCreate creates the temp file tmp beside key, in key's existing
// folder, when fastNoSymlinks would pass key; handled is false when the
// os.Root path must do it (say, the folder does not exist yet).
func (l *Local) fastCreate(key, tmp string) (f *os.File, handled bool, err error) {
	fd, ok := l.openParent(key)
	if !ok {
		return nil, false, nil
	}
	defer unix.Close(fd)
	if !lastIsSafe(fd, key) {
		return nil, false, nil
	}
	tfd, err := unix.Openat(fd, path.Base(tmp), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, true, &fs.PathError{Op: "openat", Path: tmp, Err: err}
	}
	return os.NewFile(uintptr(tfd), l.Path(tmp)), true, nil
}

// fastPublish renames tmp to key within their folder right after checking
// again, as fastNoSymlinks does, that no symbolic link is on the way (a
// link planted while the file was written must not receive it); handled is
// false when the os.Root path must do it.
func (l *Local) fastPublish(tmp, key string) (handled bool, err error) {
	if path.Dir(tmp) != path.Dir(key) {
		return false, nil
	}
	fd, ok := l.openParent(key)
	if !ok {
		return false, nil
	}
	defer unix.Close(fd)
	if !lastIsSafe(fd, key) {
		return false, nil
	}
	if err := unix.Renameat(fd, path.Base(tmp), fd, path.Base(key)); err != nil {
		return true, &os.LinkError{Op: "renameat", Old: tmp, New: key, Err: err}
	}
	return true, nil
}
