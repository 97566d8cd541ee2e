package av1job_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/av1job/av1job"
)

// xssName is a file name that runs a script wherever a page puts it into
// HTML unescaped.
const xssName = `<img src=x onerror=alert(1)>.mkv`

// browser starts headless Chromium (Debian's, installed by make deps)
// driven through chromedp; the context ends it.
func browser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium: run make deps (%v)", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel2)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// artifacts is where the test leaves its screenshots:
// $AV1JOB_ARTIFACTS, else av1job-artifacts in the temporary directory.
func artifacts(t *testing.T) string {
	dir := os.Getenv("AV1JOB_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "av1job-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot: %s", p)
}

// until evaluates the JavaScript expression js every 100 ms until it is
// true; false at the timeout.
func until(ctx context.Context, d time.Duration, js string) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// encoders returns the states of the rav1e processes pid started.
func encoders(pid int) []byte {
	var out []byte
	for child, st := range childStates(pid) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child)); strings.TrimSpace(string(comm)) == "rav1e" {
			out = append(out, st)
		}
	}
	return out
}

func allStopped(states []byte) bool {
	for _, s := range states {
		if s != 'T' {
			return false
		}
	}
	return len(states) > 0
}

// TestWebPage drives the server's page in headless Chromium as a person
// would: the file browser shows the --media folder, leaves out a link
// that points out of it and shows a file named like an HTML tag as text
// (no script runs); a bad setting gets its message beside the field; the
// job submitted from the form shows its frames going up; its buttons
// pause it (its encoders are in state T, checked in /proc), resume it,
// stop it with its work recorded and resume it to the end; the job's page
// shows every chunk done; Remove asks first and keeps the output.
// Screenshots of the queue and of the job's page are left in
// artifacts(t).
func TestWebPage(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	media := filepath.Join(dir, "media")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(media, "films"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := medium // shared with the stop tests
	src := clip(t, dir, "source.mkv", spec)
	in := filepath.Join(media, "films", xssName)
	if err := os.Link(src, in); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.mkv"), []byte("not for the page"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(media, "escape")); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "", "", nil, "--workers", "1", "--media", media)
	pid := s.cmd.Process.Pid
	cl := s.client()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := browser(t, ctx)
	var alerts, confirms atomic.Int32
	if err := chromedp.Listen(b, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			if d.Type == page.DialogTypeConfirm {
				confirms.Add(1)
			} else {
				alerts.Add(1)
			}
			go func() {
				if _, err := chromedp.Call(b, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
					t.Logf("dialog: %v", err)
				}
			}()
		}
	}); err != nil {
		t.Fatal(err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wait := func(what, js string, d time.Duration) {
		t.Helper()
		if !until(b, d, js) {
			t.Fatalf("%s: not so after %v (%s)", what, d, js)
		}
	}

	// noScript checks that no file name was put into the page as HTML.
	noScript := func(where string) {
		t.Helper()
		imgs, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll('img').length`))
		if err != nil {
			t.Fatal(err)
		}
		if n := alerts.Load(); n != 0 || imgs != 0 {
			t.Errorf("%s: %d alerts and %d <img> elements: a file name was put into the page as HTML", where, n, imgs)
		}
	}

	// The file browser: the media folder, without the link out.
	run("open the page", chromedp.Navigate("http://"+s.http+"/"))
	wait("the folder is listed", `[...document.querySelectorAll('#files .fname')].some(e => e.textContent === 'films/')`, 10*time.Second)
	names, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#files .fname')].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(n, "escape") || strings.Contains(n, "secret") {
			t.Errorf("the file browser shows %q, a link out of the media folder", n)
		}
	}
	run("open films", chromedp.Click(chromedp.CSS(`#files button[data-path$="/films"]`)))
	wait("the file is listed as text", fmt.Sprintf(`[...document.querySelectorAll('#files .fname')].some(e => e.textContent === %q)`, xssName), 10*time.Second)
	run("choose it", chromedp.Click(chromedp.CSS(`#files li button`)))
	noScript("the file browser")

	// A bad setting: its message beside its field, nothing queued.
	run("speed 11", chromedp.SetValue(chromedp.CSS(`#f-speed`), "11"), chromedp.SetValue(chromedp.CSS(`#f-max_scene_len`), "2"),
		chromedp.Click(chromedp.CSS(`#submit-btn`)))
	wait("the speed's message", `document.getElementById('err-speed').textContent.includes('--speed 11')`, 20*time.Second)
	if jobs, err := cl.Jobs(ctx); err != nil || len(jobs) != 0 {
		t.Fatalf("after a refused submit the queue has %v (%v), want nothing", jobs, err)
	}
	run("speed 10", chromedp.SetValue(chromedp.CSS(`#f-speed`), "10"), chromedp.Click(chromedp.CSS(`#submit-btn`)))
	wait("queued", `document.getElementById('submit-msg').textContent.startsWith('Queued as job')`, 30*time.Second)
	jobs, err := cl.Jobs(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("queue: %v, %v", jobs, err)
	}
	id := jobs[0].ID
	if jobs[0].Input != in || jobs[0].Speed != 10 || filepath.Dir(jobs[0].Output) != filepath.Dir(in) {
		t.Fatalf("the job as queued: %+v", jobs[0])
	}
	card := fmt.Sprintf(`#jobs li.job[data-id=%q]`, id)
	button := func(op string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(fmt.Sprintf(`%s button[data-op=%q]`, card, op)))
	}
	state := func() av1job.StatusInfo {
		ji, err := cl.Find(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ji.StatusInfo
	}

	// Frames go up on the page; pause once an encoder runs.
	wait("frames go up", fmt.Sprintf(`+document.querySelector('%s .nums').dataset.frames > 0`, card), 60*time.Second)
	// A pause between two chunks freezes no encoder: then resume and
	// pause again, until one is caught running.
	for try := 1; ; try++ {
		if !waitFor(t, 30*time.Second, func() bool { return len(encoders(pid)) > 0 }) {
			t.Fatal("no encoder runs")
		}
		run("pause", button("pause"))
		if !waitFor(t, 10*time.Second, func() bool { return state().State == av1job.StatePaused }) {
			t.Fatalf("after Pause: state %s", state().State)
		}
		if len(encoders(pid)) > 0 || try == 10 {
			break
		}
		run("resume", button("resume"))
		if !waitFor(t, 10*time.Second, func() bool { return state().State == av1job.StateRunning }) {
			t.Fatalf("after Resume: state %s", state().State)
		}
	}
	if !waitFor(t, 10*time.Second, func() bool { return allStopped(encoders(pid)) }) {
		t.Fatalf("paused: encoders in states %q, want every one T", encoders(pid))
	}
	wait("the card says paused", fmt.Sprintf(`document.querySelector('%s .badge').textContent === 'paused'`, card), 5*time.Second)
	wait("the worker's row says so", `(() => { const r = document.querySelector('#workers tr[data-name="server"]');
		return !!r && r.textContent.includes('paused') && r.textContent.includes('job 1 chunk'); })()`, 10*time.Second)
	screenshot(t, b, "queue.png")
	run("resume", button("resume"))
	if !waitFor(t, 10*time.Second, func() bool {
		st := encoders(pid)
		return state().State == av1job.StateRunning && (len(st) == 0 || !allStopped(st))
	}) {
		t.Fatalf("after Resume: state %s, encoders %q", state().State, encoders(pid))
	}
	// Stop at once: the job is early in its frames.

	// Stop: the work so far is recorded; Resume queues it again.
	run("stop", button("stop"))
	if !waitFor(t, 60*time.Second, func() bool { return state().State == av1job.StateStopped }) {
		t.Fatalf("after Stop: state %s", state().State)
	}
	if st := state(); st.FramesRecorded == 0 || st.FramesRecorded >= spec.Frames() {
		t.Errorf("stopped with %d of %d frames recorded: want the work so far, and not the end", st.FramesRecorded, spec.Frames())
	}
	wait("the card says stopped", fmt.Sprintf(`document.querySelector('%s .badge').textContent === 'stopped'`, card), 5*time.Second)
	run("resume the stopped job", button("resume"))

	// The job's page while it runs, and once it is done.
	run("open the job's page", chromedp.Click(chromedp.CSS(card+` a.name`)))
	wait("the job's page", `document.querySelectorAll('#chunkmap .cell').length > 0`, 30*time.Second)
	// The picture is best with a chunk being encoded; a done one will do.
	if !until(b, 20*time.Second, `[...document.querySelectorAll('#chunkmap .cell')].some(c => c.dataset.state === 'encoding')`) {
		wait("a chunk done", `[...document.querySelectorAll('#chunkmap .cell')].some(c => c.dataset.state !== 'queued')`, 30*time.Second)
	}
	screenshot(t, b, "job-running.png")
	ji, err := cl.Wait(ctx, id)
	if err != nil || ji.State != av1job.StateDone {
		t.Fatalf("wait: %+v, %v\n%s", ji, err, s.logged())
	}
	mustVerify(t, in, ji.Output, false)
	wait("every chunk done", fmt.Sprintf(`(() => { const c = [...document.querySelectorAll('#chunkmap .cell')];
		return c.length === %d && c.every(x => ['done', 'split', 'salvaged'].includes(x.dataset.state)); })()`, ji.ChunksTotal), 10*time.Second)
	run("a chunk's details", chromedp.Click(chromedp.CSS(`#chunkmap .cell`)))
	title, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`#job-title`)))
	if err != nil {
		t.Fatal(err)
	}
	info, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`#chunk-info`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, strings.TrimSuffix(xssName, ".mkv")) {
		t.Errorf("the job's title is %q: want the output's name as text", title)
	}
	if !strings.Contains(info, "by server") || !strings.Contains(info, "kbit/s") {
		t.Errorf("a chunk's details: %q: want its worker and bitrate", info)
	}
	screenshot(t, b, "job-done.png")
	noScript("the job's page")

	// At phone width the queue still fits; Remove asks first and keeps
	// the output.
	run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate("http://"+s.http+"/#/"))
	wait("the queue", fmt.Sprintf(`!!document.querySelector('%s')`, card), 10*time.Second)
	overflow, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || overflow {
		t.Error("at 390 px the queue is wider than the screen")
	}
	screenshot(t, b, "queue-phone.png")
	run("remove", button("remove"))
	if !until(b, 10*time.Second, fmt.Sprintf(`!document.querySelector('%s')`, card)) {
		msg, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.getElementById('notice').textContent`))
		jobs, _ := cl.Jobs(ctx)
		t.Fatalf("Remove: the job stays on the page (%d confirmations; notice %q; queue %d jobs)", confirms.Load(), msg, len(jobs))
	}
	wait("removed", fmt.Sprintf(`!document.querySelector('%s')`, card), 10*time.Second)
	if confirms.Load() != 1 {
		t.Errorf("%d confirmations asked before removing, want 1", confirms.Load())
	}
	if _, err := os.Stat(ji.Output); err != nil {
		t.Errorf("the output after Remove: %v", err)
	}
	if jobs, err := cl.Jobs(ctx); err != nil || len(jobs) != 0 {
		t.Errorf("the queue after Remove: %v, %v", jobs, err)
	}

	noScript("the queue")

	// The server restarts under the open page: the page reconnects by
	// itself and shows what the new server has.
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("the server's exit after SIGTERM: %v", err)
	}
	wait("the page sees the server gone", `document.getElementById('conn').textContent !== 'live'`, 10*time.Second)
	s = startServer(t, s.data, s.http, "", nil, "--workers", "0", "--media", media)
	o := av1job.NewOptions(in, filepath.Join(media, "again.mkv"))
	o.JobDir = ""
	again, err := s.client().Submit(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	wait("the page is live again", `document.getElementById('conn').textContent === 'live'`, 20*time.Second)
	wait("with the new server's queue", fmt.Sprintf(`!!document.querySelector('#jobs li.job[data-id=%q]')`, again.ID), 10*time.Second)
}
