// pulumi-language-python for ray-static: a small Python language host built on sdk/v3's python/toolchain,
// used because the upstream host module is not served by the module proxy here. It speaks the same gRPC
// protocol and runs the same pulumi-language-python-exec script as upstream.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Exit code the exec script uses after it has already shown the user an actionable message.
const userActionableExitCode = 32

func main() {
	flag.String("root", "", "project root (ignored; the engine sends it per request)")
	flag.String("tracing", "", "tracing endpoint (ignored)")
	// Hosts built on an older pkg/v3 (pulumi-language-yaml loading a python plugin's schema) start us with
	// the runtime options as flags (-virtualenv=venv ...) instead of sending them in ProgramInfo.
	for _, name := range []string{"virtualenv", "toolchain", "typechecker"} {
		flagOptions[name] = flag.String(name, "", "runtime option "+name+", when the request carries none")
	}
	// -logtostderr and -v (which the engine passes when verbose) are glog's, registered by the logging package.
	flag.Parse()
	logging.InitLogging(false, 0, false)
	args := flag.Args()
	if len(args) == 0 {
		cmdutil.Exit(errors.New("missing required engine RPC address argument"))
	}
	engineAddress := args[0]

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &host{engineAddress: engineAddress})
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	stopOnSignal()
	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

// The engine stops a plugin with SIGINT to the plugin's process group, then SIGKILL 5 s later. A Python
// program in our group would get that SIGINT as a KeyboardInterrupt in the middle of reporting the failure
// that made the engine stop: after a resource failed, about 180 lines of chained tracebacks
// (RunError: Resource monitor has terminated, KeyboardInterrupt) under the real error. So each program runs
// in a process group of its own, and we end it with SIGTERM, which Python does not turn into an exception,
// when we are stopped ourselves, or when we die (Pdeathsig).
var programs = runningPrograms{groups: map[int]struct{}{}}

type runningPrograms struct {
	mu     sync.Mutex
	groups map[int]struct{}
}

func (p *runningPrograms) add(pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groups[pid] = struct{}{}
}

func (p *runningPrograms) remove(pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.groups, pid)
}

func (p *runningPrograms) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.groups)
}

// terminate sends SIGTERM to every running program's group and waits up to 3 s for them to exit.
func (p *runningPrograms) terminate() {
	p.mu.Lock()
	for pid := range p.groups {
		_ = syscall.Kill(-pid, syscall.SIGTERM) // a program that has just exited is gone already
	}
	p.mu.Unlock()
	for deadline := time.Now().Add(3 * time.Second); p.count() > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// stopOnSignal ends the running programs, then the host, on SIGINT or SIGTERM.
func stopOnSignal() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		programs.terminate()
		os.Exit(130) // 128 + SIGINT, as a shell reports a process ended by it
	}()
}

// runProgram runs cmd in a process group of its own until it exits (see programs).
func runProgram(cmd *exec.Cmd) error {
	// Pdeathsig follows the OS thread that started the child: keep this goroutine on it until the end.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		return err
	}
	programs.add(cmd.Process.Pid)
	defer programs.remove(cmd.Process.Pid)
	return cmd.Wait()
}

// Runtime options given as flags (see main); ProgramInfo.Options take precedence.
var flagOptions = map[string]*string{}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

// options are the `runtime.options` of Pulumi.yaml / PulumiPlugin.yaml that this host understands.
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Toolchain: toolchain.Auto}
	if info == nil {
		return opts, errors.New("the engine sent no program info (Pulumi CLI too old for this host)")
	}
	opts.Root = info.RootDirectory
	opts.ProgramDir = info.ProgramDirectory
	raw := map[string]any{}
	if info.Options != nil {
		raw = info.Options.AsMap()
	}
	for k, v := range flagOptions {
		if _, ok := raw[k]; !ok && *v != "" {
			raw[k] = *v
		}
	}
	if v, ok := raw["virtualenv"].(string); ok {
		opts.Virtualenv = v
	}
	switch tc, _ := raw["toolchain"].(string); tc {
	case "", "auto":
	case "pip":
		opts.Toolchain = toolchain.Pip
	case "uv":
		opts.Toolchain = toolchain.Uv
	case "poetry":
		opts.Toolchain = toolchain.Poetry
	default:
		return opts, fmt.Errorf("unsupported python toolchain %q (use pip, uv or poetry)", tc)
	}
	if tc, _ := raw["typechecker"].(string); tc != "" {
		return opts, fmt.Errorf("runtime option typechecker=%q is not supported by this language host", tc)
	}
	return opts, nil
}

func resolve(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, toolchain.PythonOptions, error) {
	opts, err := pythonOptions(info)
	if err != nil {
		return nil, opts, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	return tc, opts, err
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(ctx context.Context, _ *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// pluginJSON mirrors the pulumi-plugin.json that provider SDK packages (pulumi_kubernetes, ...) ship.
type pluginJSON struct {
	Resource         bool   `json:"resource"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	Server           string `json:"server"`
	Parameterization *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Value   []byte `json:"value"`
	} `json:"parameterization"`
}

// Lists the pulumi-plugin.json files of the packages installed in the program's environment, so the
// engine knows up front which provider plugins (and versions) the program needs.
const listPluginsScript = `
import json, importlib.metadata as md
out = []
for dist in md.distributions():
    for f in dist.files or []:
        if f.name == "pulumi-plugin.json":
            try:
                out.append(json.loads(f.read_text()))
            except Exception:
                pass
print(json.dumps(out))
`

func (h *host) requiredPackages(ctx context.Context, info *pulumirpc.ProgramInfo) ([]*pulumirpc.PackageDependency, error) {
	tc, _, err := resolve(info)
	if err != nil {
		return nil, err
	}
	// As upstream's host does: a missing virtualenv is created here and the program's requirements installed
	// into it, so `pulumi up` in a fresh clone needs no separate `pulumi install`.
	if err := h.ensureVenv(ctx, tc, info.ProgramDirectory); err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", listPluginsScript)
	if err != nil {
		return nil, err
	}
	cmd.Dir = info.ProgramDirectory
	var stderr strings.Builder
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing pulumi plugins in the python environment: %w: %s", err, stderr.String())
	}
	var plugins []pluginJSON
	if err := json.Unmarshal(outb, &plugins); err != nil {
		return nil, fmt.Errorf("parsing plugin list: %w", err)
	}
	var deps []*pulumirpc.PackageDependency
	seen := map[string]bool{}
	for _, p := range plugins {
		if !p.Resource || p.Name == "" {
			continue
		}
		v := p.Version
		if v != "" && !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		key := p.Name + "@" + v
		if seen[key] {
			continue
		}
		seen[key] = true
		dep := &pulumirpc.PackageDependency{Kind: "resource", Name: p.Name, Version: v, Server: p.Server}
		if p.Parameterization != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: p.Parameterization.Name, Version: p.Parameterization.Version, Value: p.Parameterization.Value,
			}
		}
		deps = append(deps, dep)
	}
	return deps, nil
}

// ensureVenv creates the program's virtualenv if it is missing, showing pip's output as the engine's
// ephemeral log messages (the CLI's progress display).
func (h *host) ensureVenv(ctx context.Context, tc toolchain.Toolchain, dir string) error {
	if tc.ValidateVenv(ctx) == nil {
		return nil
	}
	conn, err := grpc.NewClient(h.engineAddress,
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		return fmt.Errorf("language host could not connect to the engine: %w", err)
	}
	defer conn.Close()
	engine := pulumirpc.NewEngineClient(conn)
	stream := rand.Int31() //nolint:gosec // a message stream id, not a secret
	stdout := engineLog{ctx, engine, stream, pulumirpc.LogSeverity_INFO}
	stderr := engineLog{ctx, engine, stream, pulumirpc.LogSeverity_ERROR}
	return tc.EnsureVenv(ctx, dir, false /* useLanguageVersionTools */, true /* showOutput */, stdout, stderr)
}

// engineLog writes to the engine's log as ephemeral messages of one stream.
type engineLog struct {
	ctx      context.Context
	engine   pulumirpc.EngineClient
	stream   int32
	severity pulumirpc.LogSeverity
}

func (w engineLog) Write(p []byte) (int, error) {
	_, err := w.engine.Log(w.ctx, &pulumirpc.LogRequest{
		Message: strings.ToValidUTF8(string(p), "\uFFFD"), Ephemeral: true, StreamId: w.stream, Severity: w.severity,
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, d := range deps {
		if d.Parameterization != nil {
			continue
		}
		plugins = append(plugins, &pulumirpc.PluginDependency{Name: d.Name, Kind: d.Kind, Version: d.Version, Server: d.Server})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// execScript is the upstream runner shipped in the sdk/v3 module, installed beside this binary.
func execScript() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("pulumi-language-python-exec must sit beside %s: %w", self, err)
	}
	return p, nil
}

func configEnv(req *pulumirpc.RunRequest) ([]string, error) {
	var env []string
	if len(req.Config) > 0 {
		b, err := json.Marshal(req.Config)
		if err != nil {
			return nil, err
		}
		env = append(env, "PULUMI_CONFIG="+string(b))
	}
	if len(req.ConfigSecretKeys) > 0 {
		b, err := json.Marshal(req.ConfigSecretKeys)
		if err != nil {
			return nil, err
		}
		env = append(env, "PULUMI_CONFIG_SECRET_KEYS="+string(b))
	}
	return env, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, _, err := resolve(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	script, err := execScript()
	if err != nil {
		return nil, err
	}
	info := req.GetInfo()
	program := info.GetEntryPoint()
	if program == "" {
		program = "."
	}
	if !filepath.IsAbs(program) {
		program = filepath.Join(info.GetProgramDirectory(), program)
	}
	args := []string{
		"-u", script,
		"--monitor", req.MonitorAddress,
		"--engine", h.engineAddress,
		"--project", req.Project,
		"--stack", req.Stack,
		"--pwd", req.Pwd,
		"--dry_run", strconv.FormatBool(req.DryRun),
		"--parallel", strconv.Itoa(int(req.Parallel)),
		"--root_directory", info.GetRootDirectory(),
	}
	if req.Organization != "" {
		args = append(args, "--organization", req.Organization)
	}
	args = append(args, program)
	args = append(args, req.Args...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env, err := configEnv(req)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, "PYTHONUNBUFFERED=1")
	cmd.Dir = req.Pwd
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := runProgram(cmd); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == userActionableExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// streamWriter forwards output to the engine over an InstallDependencies stream.
type streamWriter struct {
	send func([]byte) error
}

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	if err := w.send(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	ctx := server.Context()
	tc, _, err := resolve(req.GetInfo())
	if err != nil {
		return err
	}
	stdout := streamWriter{send: func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	}}
	stderr := streamWriter{send: func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	}}
	dir := req.GetInfo().GetProgramDirectory()
	if err := tc.EnsureVenv(ctx, dir, req.UseLanguageVersionTools, true, stdout, stderr); err != nil {
		return err
	}
	if err := tc.InstallDependencies(ctx, dir, req.UseLanguageVersionTools, true, stdout, stderr); err != nil {
		return err
	}
	// A plugin that is itself a Python package (pyproject.toml/setup.py) is installed into its venv too;
	// a plain program is not a package (pip would fail: "not installable").
	if req.IsPlugin && (fileExists(filepath.Join(dir, "pyproject.toml")) || fileExists(filepath.Join(dir, "setup.py"))) {
		return tc.InstallPackage(ctx, dir, req.UseLanguageVersionTools, true, stdout, stderr)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, opts, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	about, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: about.PythonExecutable,
		Version:    about.PythonVersion.String(),
		Metadata: map[string]string{
			"toolchain":  toolchain.Name(opts.Toolchain),
			"virtualenv": opts.Virtualenv,
			"host":       "ray-static build (upstream host module not served by the proxy)",
		},
	}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, _, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.TransitiveDependencies)
	if err != nil {
		return nil, err
	}
	var deps []*pulumirpc.DependencyInfo
	for _, p := range pkgs {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// RunPlugin runs a Python program as a plugin (e.g. a component provider declared by PulumiPlugin.yaml
// with runtime python): `python <program dir>` in its virtualenv, streaming its output to the engine,
// which reads the plugin's port from stdout.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	tc, _, err := resolve(req.GetInfo())
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return err
	}
	args := append([]string{"-u", req.GetInfo().GetProgramDirectory()}, req.Args...)
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	cmd.Dir = req.Pwd
	cmd.Env = append(cmd.Env, req.Env...)
	cmd.Env = append(cmd.Env, "PYTHONUNBUFFERED=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	pump := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse, done chan<- struct{}) {
		defer close(done)
		br := bufio.NewReader(r)
		buf := make([]byte, 32*1024)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				_ = server.Send(wrap(append([]byte(nil), buf[:n]...)))
			}
			if err != nil {
				return
			}
		}
	}
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go pump(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	}, outDone)
	go pump(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	}, errDone)
	<-outDone
	<-errDone
	code := 0
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return err
		}
		code = exitErr.ExitCode()
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// RuntimeOptionsPrompts: no interactive prompts (used by `pulumi new`).
func (h *host) RuntimeOptionsPrompts(ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

var (
	_ = structpb.NewStruct
	_ = plugin.DependencyInfo{}
)
