// Package profiles finds a calibration profile by the reference a file or a
// flag gives: a built-in name or a profile file. It reads files, so it
// lives outside the pure scheduler/precopy that defines the profile.
package profiles

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/droverlab/drover/scheduler/precopy"
)

// LoadProfile resolves a calibration profile reference as scenario files,
// inventory files and --profile flags write it: a built-in name
// ("qemu10-tcg"), else a profile file, relative to dir when not absolute
// (dir "" is the working directory). A built-in name wins over a file of
// the same name, so that a stray file cannot change what a name means.
func LoadProfile(ref, dir string) (precopy.Profile, error) {
	if ref == "" {
		return precopy.DefaultProfile(), nil
	}
	if p, err := precopy.BuiltinProfile(ref); err == nil {
		return p, nil
	}
	path := ref
	if dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return precopy.Profile{}, fmt.Errorf("profile %q is neither a built-in profile (%s) nor a readable file: %w", ref, precopy.DefaultProfileName, err)
	}
	p, err := precopy.ParseProfile(b)
	if err != nil {
		return precopy.Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// Ref is how to name ref again from anywhere: a built-in name as it
// is, a file by its absolute path, so that a scenario exported elsewhere
// still finds it.
func Ref(ref, dir string) string {
	if _, err := precopy.BuiltinProfile(ref); err == nil || ref == "" {
		return ref
	}
	path := ref
	if dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// ResolveProfile is LoadProfile and the reference to write in a file that
// lives elsewhere (a built-in name, or the file's absolute path).
func ResolveProfile(ref, dir string) (precopy.Profile, string, error) {
	p, err := LoadProfile(ref, dir)
	if err != nil {
		return p, "", err
	}
	return p, Ref(ref, dir), nil
}
