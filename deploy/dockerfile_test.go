package deploy

import (
	"bufio"
	"debug/elf"
	"fmt"
	"go/version"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// repoRoot is the build context of both Dockerfiles.
const repoRoot = ".."

// dockerfile is a Dockerfile parsed by BuildKit's own parser.
type dockerfile struct {
	Name     string
	Stages   []instructions.Stage
	MetaArgs map[string]string
}

func parseDockerfile(t testing.TB, name string) *dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: parser warning: %s", name, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		t.Errorf("%s:%v: %s: %s", name, loc, rule, msg)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	d := &dockerfile{Name: name, Stages: stages, MetaArgs: make(map[string]string)}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			d.MetaArgs[kv.Key] = kv.ValueString()
		}
	}
	return d
}

// Base returns a stage's FROM image with the ARGs expanded.
func (d *dockerfile) Base(t testing.TB, s instructions.Stage) string {
	t.Helper()
	var env []string
	for k, v := range d.MetaArgs {
		env = append(env, k+"="+v)
	}
	base, _, err := shell.NewLex('\\').ProcessWord(s.BaseName, shell.EnvsFromSlice(env))
	if err != nil {
		t.Fatalf("%s: FROM %s: %v", d.Name, s.BaseName, err)
	}
	return base
}

// Final is the stage the image is made of.
func (d *dockerfile) Final() instructions.Stage { return d.Stages[len(d.Stages)-1] }

// stageIndex returns the index of the stage a FROM or --from names, or -1.
func (d *dockerfile) stageIndex(name string) int {
	for i, s := range d.Stages {
		if strings.EqualFold(s.Name, name) || name == strconv.Itoa(i) {
			return i
		}
	}
	return -1
}

func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// images lists each Dockerfile with the binary it ships.
func images() []struct{ dockerfile, binary string } {
	return []struct{ dockerfile, binary string }{
		{"Dockerfile.capture", "capture"},
		{"Dockerfile.edge", "edge"},
	}
}

func TestDockerfilesAreMultiStageAndNonRoot(t *testing.T) {
	runAs := manifestUsers(t)
	for _, img := range images() {
		t.Run(img.dockerfile, func(t *testing.T) {
			d := parseDockerfile(t, img.dockerfile)
			if len(d.Stages) < 2 {
				t.Fatalf("got %d stages, want a build stage and a runtime stage", len(d.Stages))
			}
			final := d.Final()
			base := d.Base(t, final)
			if d.stageIndex(base) >= 0 || strings.HasPrefix(base, "golang") {
				t.Errorf("final stage FROM %s: want a runtime image, not the build stage or a Go image", base)
			}
			users := commands[*instructions.UserCommand](final)
			if len(users) == 0 {
				t.Fatalf("final stage: no USER, the image would run as root")
			}
			user := users[len(users)-1].User
			uid, gid, err := numericUser(user)
			if err != nil || uid == 0 {
				t.Errorf("final stage USER %q: want a numeric non-root uid (runAsNonRoot can verify only numbers): %v", user, err)
			}
			for _, want := range runAs[img.binary] {
				if want != [2]int64{uid, gid} {
					t.Errorf("final stage USER %d:%d, manifests runAsUser:runAsGroup %d:%d: want the same", uid, gid, want[0], want[1])
				}
			}
			eps := commands[*instructions.EntrypointCommand](final)
			if len(eps) == 0 || eps[len(eps)-1].PrependShell {
				t.Fatalf("final stage: want ENTRYPOINT in exec form (no shell in the image; signals reach the binary)")
			}
			ep := eps[len(eps)-1].CmdLine[0]
			copied := false
			for _, c := range commands[*instructions.CopyCommand](final) {
				copied = copied || (c.From != "" && (c.DestPath == ep || path.Join(c.DestPath, path.Base(c.SourcePaths[0])) == ep))
			}
			if !copied || path.Base(ep) != img.binary {
				t.Errorf("ENTRYPOINT %s: want the %s binary copied from the build stage", ep, img.binary)
			}
		})
	}
}

// Every COPY from the context names files that exist and that
// .dockerignore lets through; every COPY --from names an earlier stage.
func TestDockerfileCopySourcesExist(t *testing.T) {
	ignore := dockerignore(t)
	for _, img := range images() {
		t.Run(img.dockerfile, func(t *testing.T) {
			d := parseDockerfile(t, img.dockerfile)
			for i, s := range d.Stages {
				for _, c := range commands[*instructions.CopyCommand](s) {
					if c.From != "" {
						if j := d.stageIndex(c.From); j < 0 || j >= i {
							t.Errorf("COPY --from=%s: no earlier stage of that name", c.From)
						}
						continue
					}
					for _, src := range c.SourcePaths {
						files := contextFiles(t, src)
						if len(files) == 0 {
							t.Errorf("COPY %s: no such file in the repository", src)
						}
						kept := 0
						for _, f := range files {
							if excluded(t, ignore, f) {
								if path.Base(f) == "go.mod" || path.Base(f) == "go.sum" || f == strings.TrimSuffix(src, "/") {
									t.Errorf("COPY %s: %s is excluded by .dockerignore", src, f)
								}
								continue
							}
							kept++
						}
						if len(files) > 0 && kept == 0 {
							t.Errorf("COPY %s: .dockerignore excludes every file", src)
						}
					}
				}
			}
		})
	}
}

// The module download gets its own layer: before it only go.mod and
// go.sum files are copied, so a source edit does not download again.
func TestDockerfileCachesModuleDownloads(t *testing.T) {
	for _, img := range images() {
		t.Run(img.dockerfile, func(t *testing.T) {
			d := parseDockerfile(t, img.dockerfile)
			build := d.Stages[0]
			downloaded := false
			for _, cmd := range build.Commands {
				switch c := cmd.(type) {
				case *instructions.CopyCommand:
					if downloaded || c.From != "" {
						continue
					}
					for _, src := range c.SourcePaths {
						if b := path.Base(src); b != "go.mod" && b != "go.sum" {
							t.Errorf("COPY %s before `go mod download`: every source edit would download the modules again", src)
						}
					}
				case *instructions.RunCommand:
					line := strings.Join(c.CmdLine, " ")
					downloaded = downloaded || (strings.Contains(line, "go ") && strings.Contains(line, "mod download"))
				}
			}
			if !downloaded {
				t.Error("build stage: no `go mod download` step")
			}
		})
	}
}

// The images build the same packages `make build` does, the same way:
// static edge (CGO_ENABLED=0, -trimpath), without the workspace file, with
// a Go at least as new as every module needs.
func TestDockerfileBuildsWhatMakeBuilds(t *testing.T) {
	want := makeBuildPackages(t)
	for _, img := range images() {
		t.Run(img.dockerfile, func(t *testing.T) {
			d := parseDockerfile(t, img.dockerfile)
			b := newImageBuild(t, d, false)
			build, ok := b.goBuilds[img.binary]
			if !ok {
				t.Fatalf("no `go build -o .../%s` in any stage (got %v)", img.binary, b.goBuilds)
			}
			if got := build.Package; got != want[img.binary].Package {
				t.Errorf("go build package: got %s, want %s as in the Makefile", got, want[img.binary].Package)
			}
			if got, w := build.Env["CGO_ENABLED"], want[img.binary].Env["CGO_ENABLED"]; w != "" && got != w {
				t.Errorf("CGO_ENABLED: got %q, want %q as in the Makefile", got, w)
			}
			if build.Env["GOWORK"] != "off" {
				t.Errorf("GOWORK: got %q, want off (each service's go.mod replaces gen with ../../gen)", build.Env["GOWORK"])
			}
			if !slices.Contains(build.Args, "-trimpath") {
				t.Errorf("go build %v: want -trimpath (no build paths in the binary)", build.Args)
			}
			if img.binary == "edge" && build.Env["CGO_ENABLED"] != "0" {
				t.Errorf("edge: CGO_ENABLED %q, want 0 for a static binary on distroless", build.Env["CGO_ENABLED"])
			}
			goImage := d.Base(t, d.Stages[0])
			m := regexp.MustCompile(`^golang:([0-9]+\.[0-9]+(\.[0-9]+)?)-`).FindStringSubmatch(goImage)
			if m == nil {
				t.Fatalf("build stage FROM %s: want golang:<version>-<debian release>", goImage)
			}
			for _, mod := range b.modules {
				if need := goDirective(t, filepath.Join(repoRoot, mod, "go.mod")); version.Compare("go"+m[1], "go"+need) < 0 {
					t.Errorf("FROM %s: Go %s, but %s/go.mod needs go %s", goImage, m[1], mod, need)
				}
			}
		})
	}
}

// Run each Dockerfile's build stage here, step by step: its COPYs from a
// context filtered by .dockerignore into a scratch root, its ENV and
// WORKDIR, its `go` commands with the real Go. This proves the COPYs bring
// everything the build needs and that the module builds outside the
// workspace; then the binary it made is checked against the runtime stage.
func TestDockerfileBuildStageBuilds(t *testing.T) {
	for _, img := range images() {
		t.Run(img.dockerfile, func(t *testing.T) {
			d := parseDockerfile(t, img.dockerfile)
			for _, pkg := range aptInstalls(t, d, d.Stages[0]) {
				if err := exec.Command("dpkg-query", "-W", pkg).Run(); err != nil {
					t.Skipf("the build stage needs the Debian package %s, not installed here: run 'make deps'", pkg)
				}
			}
			b := newImageBuild(t, d, true)
			out := b.goBuilds[img.binary].Output
			if out == "" {
				t.Fatalf("the build stage made no %s binary", img.binary)
			}
			f, err := elf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			needed, err := f.ImportedLibraries()
			if err != nil {
				t.Fatal(err)
			}
			switch img.binary {
			case "edge":
				if len(needed) > 0 || hasInterp(f) {
					t.Errorf("edge: links %v, want a static binary (distroless static has no libc)", needed)
				}
			case "capture":
				checkRuntimePackages(t, d, out, needed)
			}
		})
	}
}

// checkRuntimePackages compares the runtime stage's apt-get install list
// with the Debian packages that hold the libraries the binary links.
func checkRuntimePackages(t *testing.T, d *dockerfile, bin string, needed []string) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("dpkg is not installed: the runtime packages can be derived only on Debian")
	}
	// In debian:bookworm-slim already (apt itself needs them).
	inBase := []string{"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
	paths := lddPaths(t, bin)
	want := map[string]string{} // package → library
	for _, lib := range needed {
		p, ok := paths[lib]
		if !ok {
			t.Errorf("ldd %s: %s not found", bin, lib)
			continue
		}
		pkg, err := packageOf(p)
		if err != nil {
			t.Errorf("library %s: %v", p, err)
			continue
		}
		if !slices.Contains(inBase, pkg) {
			want[pkg] = lib
		}
	}
	var installed []string
	for _, s := range runtimeStages(t, d) {
		installed = append(installed, aptInstalls(t, d, s)...)
	}
	for pkg, lib := range want {
		if !slices.Contains(installed, pkg) {
			t.Errorf("runtime stage: capture links %s from package %s, which is not installed", lib, pkg)
		}
	}
	for _, pkg := range installed {
		if _, ok := want[pkg]; !ok && pkg != "ca-certificates" {
			t.Errorf("runtime stage: installs %s, which capture does not link (want only %v and ca-certificates)", pkg, slices.Sorted(maps.Keys(want)))
		}
		if strings.HasSuffix(pkg, "-dev") || pkg == "build-essential" || strings.HasPrefix(pkg, "gcc") {
			t.Errorf("runtime stage: installs build tool %s", pkg)
		}
	}
	if !slices.Contains(installed, "ca-certificates") {
		t.Error("runtime stage: ca-certificates not installed (https camera sources)")
	}
}

// ---- emulating a build stage ----

type goBuild struct {
	Package string // relative to the repository root, e.g. ./services/edge/cmd/edge
	Args    []string
	Env     map[string]string
	Output  string // the binary on this machine, when the build ran
}

type imageBuild struct {
	t        testing.TB
	d        *dockerfile
	run      bool
	root     string            // scratch directory standing for the image's /
	copies   map[string]string // image directory → repository directory
	goBuilds map[string]goBuild
	modules  []string // repository directories whose go.mod was copied
}

// newImageBuild walks the Dockerfile's Go build stages. With run, it also
// carries out their COPY and `go` steps.
func newImageBuild(t testing.TB, d *dockerfile, run bool) *imageBuild {
	t.Helper()
	b := &imageBuild{t: t, d: d, run: run, copies: map[string]string{}, goBuilds: map[string]goBuild{}}
	if run {
		b.root = t.TempDir()
	}
	for _, s := range d.Stages[:len(d.Stages)-1] {
		if isGoStage(t, d, s) {
			b.stage(s)
		}
	}
	return b
}

// isGoStage tells a build stage (FROM a Go image) from a runtime one.
func isGoStage(t testing.TB, d *dockerfile, s instructions.Stage) bool {
	return strings.HasPrefix(d.Base(t, s), "golang")
}

// runtimeStages are the final stage and the stages, other than Go build
// stages, that prepare what it copies (e.g. its libraries).
func runtimeStages(t testing.TB, d *dockerfile) []instructions.Stage {
	var out []instructions.Stage
	for _, s := range d.Stages {
		if !isGoStage(t, d, s) {
			out = append(out, s)
		}
	}
	return out
}

func (b *imageBuild) stage(s instructions.Stage) {
	t := b.t
	t.Helper()
	env := map[string]string{}
	workdir := "/go" // the golang image's WORKDIR
	lex := shell.NewLex('\\')
	for _, cmd := range s.Commands {
		switch c := cmd.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.WorkdirCommand:
			if path.IsAbs(c.Path) {
				workdir = c.Path
			} else {
				workdir = path.Join(workdir, c.Path)
			}
		case *instructions.CopyCommand:
			if c.From != "" {
				t.Fatalf("%s: COPY --from in a build stage: not emulated", b.d.Name)
			}
			b.copy(c, workdir)
		case *instructions.RunCommand:
			words, err := lex.ProcessWords(strings.Join(c.CmdLine, " "), shell.EnvsFromSlice(envList(env)))
			if err != nil {
				t.Fatalf("%s: RUN %v: %v", b.d.Name, c.CmdLine, err)
			}
			b.runStep(words, env, workdir)
		case *instructions.ArgCommand, *instructions.LabelCommand:
		default:
			t.Fatalf("%s: %s in a build stage: not emulated", b.d.Name, cmd.Name())
		}
	}
}

func (b *imageBuild) copy(c *instructions.CopyCommand, workdir string) {
	t := b.t
	t.Helper()
	dest := c.DestPath
	if !path.IsAbs(dest) {
		dest = path.Join(workdir, dest)
	}
	ignore := dockerignore(t)
	for _, src := range c.SourcePaths {
		files := contextFiles(t, src)
		srcDir := strings.TrimSuffix(src, "/")
		isDir := false
		if fi, err := os.Stat(filepath.Join(repoRoot, srcDir)); err == nil && fi.IsDir() {
			isDir = true
			b.copies[dest] = srcDir // COPY dir/ dest/ copies dir's content into dest
		} else {
			b.copies[path.Join(dest, path.Base(src))] = srcDir
		}
		if path.Base(src) == "go.mod" {
			b.modules = append(b.modules, path.Dir(src))
		}
		if !b.run {
			continue
		}
		for _, f := range files {
			if excluded(t, ignore, f) {
				continue
			}
			target := path.Join(dest, path.Base(f))
			if isDir {
				target = path.Join(dest, strings.TrimPrefix(f, srcDir+"/"))
			}
			copyFile(t, filepath.Join(repoRoot, f), filepath.Join(b.root, target))
		}
	}
}

// runStep carries out one RUN: apt-get steps are the system's business
// (checked separately); `go` steps run with the real Go.
func (b *imageBuild) runStep(words []string, env map[string]string, workdir string) {
	t := b.t
	t.Helper()
	if slices.Contains(words, "apt-get") {
		return
	}
	cmdEnv := maps.Clone(env)
	for len(words) > 0 && strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(words[0], "=")
		cmdEnv[k] = v
		words = words[1:]
	}
	if len(words) == 0 || words[0] != "go" || slices.ContainsFunc(words, isShellOperator) {
		t.Fatalf("%s: RUN %v: only apt-get steps and single go commands are emulated", b.d.Name, words)
	}
	dir := workdir
	args := slices.Clone(words[1:])
	if len(args) >= 2 && args[0] == "-C" {
		dir = path.Join(workdir, args[1])
		args = args[2:]
	}
	if len(args) > 0 && args[0] == "build" {
		b.recordBuild(args, cmdEnv, dir)
		args = slices.Clone(args)
		for i := range args {
			if args[i] == "-o" && i+1 < len(args) && path.IsAbs(args[i+1]) {
				args[i+1] = filepath.Join(b.root, args[i+1])
			}
		}
	}
	if !b.run {
		return
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join(b.root, dir)
	cmd.Env = append(os.Environ(), envList(cmdEnv)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: RUN go %s (in %s): %v\n%s", b.d.Name, strings.Join(args, " "), dir, err, out)
	}
}

func (b *imageBuild) recordBuild(args []string, env map[string]string, dir string) {
	t := b.t
	t.Helper()
	var out, pkg string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o" && i+1 < len(args):
			out = args[i+1]
			i++
		case a == "-ldflags" || a == "-tags" || a == "-gcflags":
			i++
		case !strings.HasPrefix(a, "-"):
			pkg = a
		}
	}
	if out == "" || pkg == "" {
		t.Fatalf("%s: go %v: want -o <binary> and one package", b.d.Name, args)
	}
	repoPkg, ok := b.repoPath(path.Join(dir, pkg))
	if !ok {
		t.Fatalf("%s: go build %s in %s: not a directory copied from the repository", b.d.Name, pkg, dir)
	}
	g := goBuild{Package: "./" + repoPkg, Args: args, Env: env}
	if b.run {
		g.Output = filepath.Join(b.root, out)
	}
	b.goBuilds[path.Base(out)] = g
}

// repoPath maps a directory of the image back to the repository through
// the COPY steps.
func (b *imageBuild) repoPath(imageDir string) (string, bool) {
	best := ""
	for dst := range b.copies {
		if (imageDir == dst || strings.HasPrefix(imageDir, dst+"/")) && len(dst) > len(best) {
			best = dst
		}
	}
	if best == "" {
		return "", false
	}
	return path.Join(b.copies[best], strings.TrimPrefix(imageDir, best)), true
}

func isShellOperator(w string) bool {
	return slices.Contains([]string{"&&", "||", ";", "|", ">", "<"}, w)
}

// aptInstalls returns the packages a stage's RUN steps apt-get install.
func aptInstalls(t testing.TB, d *dockerfile, s instructions.Stage) []string {
	t.Helper()
	var pkgs []string
	for _, c := range commands[*instructions.RunCommand](s) {
		words, err := shell.NewLex('\\').ProcessWords(strings.Join(c.CmdLine, " "), shell.EnvsFromSlice(nil))
		if err != nil {
			t.Fatalf("%s: RUN %v: %v", d.Name, c.CmdLine, err)
		}
		for i := 0; i+1 < len(words); i++ {
			if words[i] != "apt-get" || words[i+1] != "install" {
				continue
			}
			for _, w := range words[i+2:] {
				if isShellOperator(w) {
					break
				}
				if !strings.HasPrefix(w, "-") {
					pkgs = append(pkgs, w)
				}
			}
		}
		line := strings.Join(words, " ")
		if strings.Contains(line, "apt-get install") && !strings.Contains(line, "rm -rf /var/lib/apt/lists") {
			t.Errorf("%s: RUN %s: want the apt lists removed in the same step", d.Name, line)
		}
	}
	return pkgs
}

// ---- the repository and the Makefile ----

// makeBuildPackages reads the Makefile's build recipe: binary → package
// and the variables set on its line.
func makeBuildPackages(t testing.TB) map[string]goBuild {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	builds := map[string]goBuild{}
	inBuild := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "\t") {
			inBuild = strings.HasPrefix(line, "build:")
			continue
		}
		if !inBuild {
			continue
		}
		g := goBuild{Env: map[string]string{}}
		var out string
		words := strings.Fields(line)
		for i := 0; i < len(words); i++ {
			w := words[i]
			switch {
			case strings.Contains(w, "=") && !strings.HasPrefix(w, "-"):
				k, v, _ := strings.Cut(w, "=")
				g.Env[k] = v
			case w == "-o" && i+1 < len(words):
				out = words[i+1]
				i++
			case strings.HasPrefix(w, "./"):
				g.Package = w
			}
		}
		if out != "" && g.Package != "" {
			builds[path.Base(out)] = g
		}
	}
	for _, img := range images() {
		if _, ok := builds[img.binary]; !ok {
			t.Fatalf("Makefile build: no `go build -o $(BIN)/%s` (got %v)", img.binary, builds)
		}
	}
	return builds
}

// contextFiles returns the repository files (slash paths relative to the
// root) a COPY source names: the file, every file under the directory, or
// every match of the glob.
func contextFiles(t testing.TB, src string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(repoRoot, filepath.FromSlash(strings.TrimSuffix(src, "/"))))
	if err != nil {
		t.Fatalf("COPY %s: %v", src, err)
	}
	var files []string
	for _, m := range matches {
		err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(repoRoot, p)
			files = append(files, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func dockerignore(t testing.TB) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	return pm
}

func excluded(t testing.TB, pm *patternmatcher.PatternMatcher, file string) bool {
	t.Helper()
	ex, err := pm.MatchesOrParentMatches(file)
	if err != nil {
		t.Fatalf(".dockerignore on %s: %v", file, err)
	}
	return ex
}

func goDirective(t testing.TB, gomod string) string {
	t.Helper()
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go ([0-9.]+)`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s: no go directive", gomod)
	}
	return string(m[1])
}

// manifestUsers returns, per binary, the runAsUser:runAsGroup every
// manifest runs its image as.
func manifestUsers(t testing.TB) map[string][][2]int64 {
	t.Helper()
	users := map[string][][2]int64{}
	for _, m := range renderAll(t) {
		for _, w := range m.Workloads() {
			for _, c := range w.Template.Spec.Containers {
				s := effectiveSecurity(w.Template.Spec.SecurityContext, c.SecurityContext)
				bin := imageBinary(c.Image)
				users[bin] = append(users[bin], [2]int64{s.runAsUser, s.runAsGroup})
			}
		}
	}
	return users
}

func numericUser(user string) (uid, gid int64, err error) {
	u, g, hasGroup := strings.Cut(user, ":")
	if uid, err = strconv.ParseInt(u, 10, 64); err != nil {
		return 0, 0, err
	}
	gid = uid
	if hasGroup {
		gid, err = strconv.ParseInt(g, 10, 64)
	}
	return uid, gid, err
}

// ---- the system ----

// lddPaths maps each library ldd finds for bin to its path.
func lddPaths(t testing.TB, bin string) map[string]string {
	t.Helper()
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	paths := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, rest, ok := strings.Cut(strings.TrimSpace(line), " => "); ok {
			p, _, _ := strings.Cut(rest, " (")
			paths[name] = p
		}
	}
	return paths
}

// packageOf returns the Debian package that installed a file, trying the
// path as given and as merged /usr has it.
func packageOf(file string) (string, error) {
	candidates := []string{file}
	if real, err := filepath.EvalSymlinks(file); err == nil {
		candidates = append(candidates, real)
	}
	for _, c := range slices.Clone(candidates) {
		if !strings.HasPrefix(c, "/usr/") {
			candidates = append(candidates, "/usr"+c)
		}
	}
	for _, c := range candidates {
		out, err := exec.Command("dpkg-query", "-S", c).Output()
		if err != nil {
			continue
		}
		pkg, _, _ := strings.Cut(strings.TrimSpace(string(out)), ":")
		return pkg, nil
	}
	return "", fmt.Errorf("no Debian package owns it (tried %v)", candidates)
}

func hasInterp(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func envList(env map[string]string) []string {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}
