package fake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cloudlb/cloudlb/internal/intern"
)

// store holds the load balancers of the cloud by name. view runs fn under a shared lock on a
// current snapshot; update runs fn under an exclusive lock and keeps its changes only when it
// returns nil, so fn must check everything before it changes the map.
type store interface {
	view(fn func(lbs map[string]LoadBalancer) error) error
	update(fn func(lbs map[string]LoadBalancer) error) error
	// put stores lb in lbs and del removes name from it, inside update's fn: the writes go
	// through them so that a store can share what load balancers have in common.
	put(lbs map[string]LoadBalancer, lb LoadBalancer)
	del(lbs map[string]LoadBalancer, name string)
}

// memStore keeps the state in this process only. The load balancers' node lists, nearly all
// the same, are interned: one copy per distinct list, not one per load balancer (at 1,000
// nodes and 5,000 Services the copies were 80 MB).
type memStore struct {
	mu    sync.RWMutex
	lbs   map[string]LoadBalancer
	nodes intern.Lists
}

func (s *memStore) put(lbs map[string]LoadBalancer, lb LoadBalancer) {
	if old, ok := lbs[lb.Name]; ok {
		s.nodes.Release(old.Nodes)
	}
	lb.Nodes = s.nodes.Intern(lb.Nodes)
	lbs[lb.Name] = lb
}

func (s *memStore) del(lbs map[string]LoadBalancer, name string) {
	if old, ok := lbs[name]; ok {
		s.nodes.Release(old.Nodes)
		delete(lbs, name)
	}
}

func newMemStore() *memStore { return &memStore{lbs: map[string]LoadBalancer{}} }

func (s *memStore) view(fn func(map[string]LoadBalancer) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(s.lbs)
}

func (s *memStore) update(fn func(map[string]LoadBalancer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(s.lbs)
}

// fileStore keeps the state in a JSON file shared by processes. Every operation takes a
// flock(2) on "<path>.lock" (shared to read, exclusive to write) and reloads the file, so a
// process sees the writes of the others; every write replaces the file by renaming a complete
// temporary file over it, so a process killed at any point leaves either the old or the new
// state, never a torn one. The file is not fsynced: it must survive a killed process, not a
// power loss.
//
// Reloading the whole file per call is O(load balancers); the fake serves demos and tests with
// at most a few thousand, where that is far below the simulated latency.
type fileStore struct {
	path, lockPath string
}

func (s *fileStore) put(lbs map[string]LoadBalancer, lb LoadBalancer) { lbs[lb.Name] = lb }
func (s *fileStore) del(lbs map[string]LoadBalancer, name string)     { delete(lbs, name) }

// stateFile is the JSON layout of the state file.
type stateFile struct {
	// LoadBalancers are sorted by name, so the file diffs well.
	LoadBalancers []LoadBalancer `json:"loadBalancers"`
}

func newFileStore(path string) (*fileStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("statePath: creating the directory of %s: %w", path, err)
	}
	s := &fileStore{path: path, lockPath: path + ".lock"}
	// Fail at start-up, not on the first Service, when the state cannot be read or locked.
	if err := s.view(func(map[string]LoadBalancer) error { return nil }); err != nil {
		return nil, fmt.Errorf("statePath: %w", err)
	}
	return s, nil
}

func (s *fileStore) view(fn func(map[string]LoadBalancer) error) error {
	unlock, err := lockFile(s.lockPath, false)
	if err != nil {
		return err
	}
	defer unlock()
	lbs, err := s.load()
	if err != nil {
		return err
	}
	return fn(lbs)
}

func (s *fileStore) update(fn func(map[string]LoadBalancer) error) error {
	unlock, err := lockFile(s.lockPath, true)
	if err != nil {
		return err
	}
	defer unlock()
	lbs, err := s.load()
	if err != nil {
		return err
	}
	if err := fn(lbs); err != nil {
		return err
	}
	return s.save(lbs)
}

// load reads the state file; a missing file is an empty cloud.
func (s *fileStore) load() (map[string]LoadBalancer, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]LoadBalancer{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the fake cloud state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decoding the fake cloud state %s: %w", s.path, err)
	}
	lbs := make(map[string]LoadBalancer, len(st.LoadBalancers))
	for _, lb := range st.LoadBalancers {
		lbs[lb.Name] = lb
	}
	return lbs, nil
}

// save writes lbs to a temporary file next to the state file and renames it into place.
func (s *fileStore) save(lbs map[string]LoadBalancer) (err error) {
	st := stateFile{LoadBalancers: make([]LoadBalancer, 0, len(lbs))}
	for _, lb := range lbs {
		st.LoadBalancers = append(st.LoadBalancers, lb)
	}
	slices.SortFunc(st.LoadBalancers, func(a, b LoadBalancer) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the fake cloud state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing the fake cloud state: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the fake cloud state: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing the fake cloud state: %w", err)
	}
	if err = os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("replacing the fake cloud state: %w", err)
	}
	return nil
}
