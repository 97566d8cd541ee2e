package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// mediaRoot is a folder the file browser shows.
type mediaRoot struct {
	Name string `json:"name"` // its base name, for display
	Path string `json:"path"` // absolute, symbolic links resolved
}

// mediaRoots checks the --media folders: each must be a directory.
func mediaRoots(dirs []string) ([]mediaRoot, error) {
	var out []mediaRoot
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return nil, fmt.Errorf("server: --media %s: %w", d, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("server: --media %s: %w", d, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("server: --media %s: not a directory", d)
		}
		out = append(out, mediaRoot{Name: filepath.Base(abs), Path: abs})
	}
	return out, nil
}

// within reports whether path p is root or under it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// Listing is a folder of a media root.
type Listing struct {
	Root    int         `json:"root"`
	Path    string      `json:"path"` // relative to the root, "" for the root itself
	Entries []MediaFile `json:"entries"`
}

// MediaFile is an entry of a Listing. Path is absolute: the input to
// submit.
type MediaFile struct {
	Name string `json:"name"`
	Dir  bool   `json:"dir"`
	Size int64  `json:"size"`
	Path string `json:"path"`
}

// resolve returns the folder rel names under media root i, refusing
// anything that leaves the root: an absolute path, "..", or a symbolic
// link that points out of it.
func (s *Server) resolve(i int, rel string) (string, error) {
	if i < 0 || i >= len(s.media) {
		return "", errorf(http.StatusNotFound, "no media folder %d (the server has %d; see --media)", i, len(s.media))
	}
	root := s.media[i].Path
	if strings.ContainsRune(rel, 0) || filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") {
		return "", errorf(http.StatusForbidden, "%q: a path relative to the media folder, please", rel)
	}
	clean := filepath.Clean("/" + rel)[1:]
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return "", errorf(http.StatusForbidden, "%q: outside the media folder", rel)
		}
	}
	p := filepath.Join(root, clean)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", errorf(http.StatusNotFound, "%s: %v", rel, err)
	}
	if !within(root, real) {
		return "", errorf(http.StatusForbidden, "%q: outside the media folder", rel)
	}
	return p, nil
}

// mediaList answers GET /api/media (the roots) and GET
// /api/media/list?root=N&path=REL (a folder's entries: folders first,
// then files, by name; symbolic links that point out are left out).
func (s *Server) mediaRootsAPI(*http.Request) (any, error) {
	return map[string]any{"roots": append([]mediaRoot{}, s.media...)}, nil
}

func (s *Server) mediaList(r *http.Request) (any, error) {
	i, err := strconv.Atoi(r.URL.Query().Get("root"))
	if err != nil {
		i = 0
	}
	rel := r.URL.Query().Get("path")
	dir, err := s.resolve(i, rel)
	if err != nil {
		return nil, err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%s: %v", rel, err)
	}
	root := s.media[i].Path
	l := Listing{Root: i, Path: strings.TrimPrefix(strings.TrimPrefix(dir, root), "/"), Entries: []MediaFile{}}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, de.Name())
		real, err := filepath.EvalSymlinks(p)
		if err != nil || !within(root, real) {
			continue
		}
		fi, err := os.Stat(real)
		if err != nil {
			continue
		}
		l.Entries = append(l.Entries, MediaFile{Name: de.Name(), Dir: fi.IsDir(), Size: fi.Size(), Path: p})
	}
	sort.Slice(l.Entries, func(a, b int) bool {
		x, y := l.Entries[a], l.Entries[b]
		if x.Dir != y.Dir {
			return x.Dir
		}
		return x.Name < y.Name
	})
	return l, nil
}
