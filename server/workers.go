package server

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/cluster"
)

// WorkerView is a worker as the page shows it: its announcement, its
// encoding rate, when it was last heard, and its tasks with the IDs of
// their jobs in the queue. State is cluster.WorkerLost for a worker
// unheard for three announcements.
type WorkerView struct {
	cluster.WorkerInfo
	FPS   float64    `json:"fps"`
	Heard time.Time  `json:"heard"`
	Tasks []TaskView `json:"tasks"`
}

// TaskView is a task a worker runs.
type TaskView struct {
	cluster.WorkerTask
	JobID string `json:"job_id,omitempty"` // the queue's ID of its job, when it is this server's
}

// forgetAfter is how long a lost or gone worker stays on the list.
const forgetAfter = 10 * time.Minute

// registry keeps the workers' announcements.
type registry struct {
	mu sync.Mutex
	w  map[string]*seen
}

type seen struct {
	info  cluster.WorkerInfo
	heard time.Time
	fps   float64
	// measured: fps holds a rate (the first one is taken as it is).
	measured bool
}

func newRegistry() *registry { return &registry{w: map[string]*seen{}} }

// heard records an announcement.
func (r *registry) heard(wi cluster.WorkerInfo) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.w[wi.Name]
	if s == nil {
		s = &seen{}
		r.w[wi.Name] = s
	}
	if dt := wi.Time.Sub(s.info.Time).Seconds(); s.info.Name != "" && dt > 0 && wi.Frames >= s.info.Frames {
		// Smoothed over about three announcements.
		f := float64(wi.Frames-s.info.Frames) / dt
		if s.measured {
			s.fps += (f - s.fps) / 3
		} else {
			s.fps, s.measured = f, true
		}
	}
	s.info, s.heard = wi, now
}

// list reports the workers by name; jobOf names a task's job in the
// queue.
func (r *registry) list(jobOf func(taskJob string) string) []WorkerView {
	now := time.Now()
	r.mu.Lock()
	out := []WorkerView{}
	for name, s := range r.w {
		gone := s.info.State == cluster.WorkerGone
		if now.Sub(s.heard) > forgetAfter && (gone || now.Sub(s.heard) > 3*cluster.AnnounceEvery) {
			delete(r.w, name)
			continue
		}
		v := WorkerView{WorkerInfo: s.info, FPS: float64(int(s.fps*10+0.5)) / 10, Heard: s.heard.UTC()}
		v.Tasks = []TaskView{}
		if !gone && now.Sub(s.heard) > 3*cluster.AnnounceEvery {
			v.State = cluster.WorkerLost
		}
		if v.State == cluster.WorkerLost || gone {
			v.FPS = 0
		} else {
			for _, t := range s.info.Tasks {
				v.Tasks = append(v.Tasks, TaskView{WorkerTask: t, JobID: jobOf(t.Job)})
			}
		}
		v.WorkerInfo.Tasks = nil
		out = append(out, v)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// workerList reports the cluster's workers, their tasks named by queue
// ID (s.mu held).
func (s *Server) workerList() []WorkerView {
	tags := map[string]string{}
	for id := range s.runs {
		if e := s.lookup(id); e != nil {
			tags[av1job.JobDirTag(e.Options.JobDir)] = id
		}
	}
	return s.workers.list(func(job string) string {
		if i := strings.LastIndexByte(job, '-'); i >= 0 {
			return tags[job[i+1:]]
		}
		return ""
	})
}
