// pulumi-language-nodejs for ray-static: a small Node.js language host built on sdk/v3 (nodejs/npm, rpc) and
// pkg/v3 (codegen/nodejs, schema), used because the upstream host module is not served by the module proxy
// here. It speaks the same gRPC protocol and runs programs with the project's own @pulumi/pulumi
// (node_modules/@pulumi/pulumi/cmd/run), like upstream. It covers what `pulumi preview/up/destroy`,
// `pulumi install` and `pulumi package add <local plugin>` (GeneratePackage + Link) need; it has no
// synchronous-invoke pipes, no debugger attach, no policy packs or Node.js plugins, no bun runtime.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/blang/semver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/pkg/v3/codegen/cgstrings"
	codegen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/fsutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Exit code @pulumi/pulumi uses after it has already shown the user an actionable message.
const userActionableExitCode = 32

func main() {
	flag.String("root", "", "project root (ignored; the engine sends it per request)")
	flag.String("tracing", "", "tracing endpoint (ignored)")
	runtimeName := flag.String("runtime", "nodejs", "JavaScript runtime; only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q (this host runs nodejs only)", *runtimeName))
	}
	logging.InitLogging(false, 0, false)
	h := &host{}
	h.cancelCtx, h.cancel = context.WithCancel(context.Background())
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[0]
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	// Cancelled by the Cancel RPC (the engine's answer to Ctrl-C, and its last call before shutting us down):
	// a running program gets SIGINT, so @pulumi/pulumi can finish its in-flight resource registrations.
	cancelCtx context.Context
	cancel    context.CancelFunc
}

func (h *host) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// nodeOptions are the `runtime.options` of Pulumi.yaml that this host understands.
type nodeOptions struct {
	typescript     bool   // run .ts sources through ts-node (default true)
	tsconfig       string // tsconfig.json path for ts-node
	nodeargs       []string
	packagemanager npm.PackageManagerType
}

func parseOptions(info *pulumirpc.ProgramInfo) (nodeOptions, error) {
	opts := nodeOptions{typescript: true, packagemanager: npm.AutoPackageManager}
	raw := map[string]any{}
	if info.GetOptions() != nil {
		raw = info.GetOptions().AsMap()
	}
	for k, v := range raw {
		switch k {
		case "typescript":
			b, ok := v.(bool)
			if !ok {
				return opts, errors.New("runtime option typescript must be a boolean")
			}
			opts.typescript = b
		case "tsconfig":
			s, ok := v.(string)
			if !ok {
				return opts, errors.New("runtime option tsconfig must be a string")
			}
			opts.tsconfig = s
		case "nodeargs":
			s, ok := v.(string)
			if !ok {
				return opts, errors.New("runtime option nodeargs must be a string")
			}
			opts.nodeargs = strings.Fields(s)
		case "packagemanager":
			s, _ := v.(string)
			switch pm := npm.PackageManagerType(s); pm {
			case npm.AutoPackageManager, npm.NpmPackageManager, npm.YarnPackageManager, npm.PnpmPackageManager:
				opts.packagemanager = pm
			default:
				return opts, fmt.Errorf("runtime option packagemanager must be auto, npm, yarn or pnpm, got %v", v)
			}
		default:
			return opts, fmt.Errorf("runtime option %q is not supported by this language host", k)
		}
	}
	return opts, nil
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// packageJSON is the part of a package.json we read: provider SDKs (@pulumi/kubernetes, generated SDKs)
// carry a "pulumi" section naming the plugin they need.
type packageJSON struct {
	Name    string                  `json:"name"`
	Version string                  `json:"version"`
	Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
}

// pluginPackages walks every node_modules below dir (following symlinks once) and returns the Pulumi plugin
// each installed package declares, so the engine knows up front which providers the program needs.
func pluginPackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	var deps []*pulumirpc.PackageDependency
	seen := map[string]bool{}
	visited := map[string]bool{}
	var walk func(dir string, inNodeModules bool) error
	walk = func(dir string, inNodeModules bool) error {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || visited[real] {
			return nil //nolint:nilerr // a dangling link is not a dependency
		}
		visited[real] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			fi, err := os.Stat(p) // follows links (npm links `file:` dependencies)
			if err != nil {
				continue
			}
			if fi.IsDir() {
				if err := walk(p, inNodeModules || filepath.Base(dir) == "node_modules"); err != nil {
					return err
				}
				continue
			}
			if !inNodeModules || e.Name() != "package.json" {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var info packageJSON
			if json.Unmarshal(b, &info) != nil || !info.Pulumi.Resource {
				continue
			}
			name := info.Pulumi.Name
			if name == "" {
				if !strings.HasPrefix(info.Name, "@pulumi/") {
					return fmt.Errorf("%s: a third-party plugin package must name its plugin in \"pulumi\": {\"name\": ...}", p)
				}
				name = strings.TrimPrefix(info.Name, "@pulumi/")
			}
			v := info.Pulumi.Version
			if v == "" {
				v = info.Version
			}
			if v != "" && !strings.HasPrefix(v, "v") {
				v = "v" + v
			}
			if seen[name+"@"+v] {
				continue
			}
			seen[name+"@"+v] = true
			dep := &pulumirpc.PackageDependency{Kind: "resource", Name: name, Version: v, Server: info.Pulumi.Server}
			if pz := info.Pulumi.Parameterization; pz != nil {
				dep.Parameterization = &pulumirpc.PackageParameterization{Name: pz.Name, Version: pz.Version, Value: pz.Value}
			}
			deps = append(deps, dep)
		}
		return nil
	}
	err := walk(dir, false)
	return deps, err
}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := pluginPackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		// Like upstream: not fatal here; a missing SDK surfaces when the program runs.
		logging.V(3).Infof("GetRequiredPackages: %v", err)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages; the engine falls back to it.
func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "method GetRequiredPlugins not implemented")
}

// locateModule resolves a module (e.g. @pulumi/pulumi/cmd/run) from the program directory, as node would.
func locateModule(ctx context.Context, mod, dir string) (string, error) {
	script := fmt.Sprintf(`try { console.log(require.resolve(%q)); } catch (e) { `+
		`console.error(e.code === "MODULE_NOT_FOUND" ? "It looks like the Pulumi SDK has not been installed `+
		`(%s not found from %s). Have you run pulumi install (or npm install)?" : e.message); process.exit(1); }`,
		mod, mod, dir)
	cmd := exec.CommandContext(ctx, "node", "-e", script)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// configJSON renders the stack config the way @pulumi/pulumi reads PULUMI_CONFIG (`<ns>:config:<name>` keys,
// which every @pulumi/pulumi version understands).
func configJSON(req *pulumirpc.RunRequest) (string, string, error) {
	cfg := make(map[string]string, len(req.GetConfig()))
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", "", err
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", "", err
	}
	secrets := req.GetConfigSecretKeys()
	if secrets == nil {
		secrets = []string{}
	}
	s, err := json.Marshal(secrets)
	return string(b), string(s), err
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	opts, err := parseOptions(info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := locateModule(ctx, "@pulumi/pulumi/cmd/run", info.GetProgramDirectory())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	cfg, secretKeys, err := configJSON(req)
	if err != nil {
		return nil, fmt.Errorf("serializing configuration: %w", err)
	}
	// The program talks to the engine's resource monitor directly (upstream puts a forwarding proxy in between,
	// only to serve synchronous invokes over pipes; without --sync @pulumi/pulumi uses the async ones).
	args := append([]string{}, opts.nodeargs...)
	args = append(args, runPath, "--monitor", req.GetMonitorAddress())
	add := func(flag, v string) {
		if v != "" {
			args = append(args, "--"+flag, v)
		}
	}
	add("engine", h.engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", info.GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	runCtx, stop := context.WithCancel(h.cancelCtx)
	defer stop()
	context.AfterFunc(ctx, stop)
	cmd := exec.CommandContext(runCtx, "node", args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second // then killed
	cmd.Env = append(os.Environ(), "PULUMI_CONFIG="+cfg, "PULUMI_CONFIG_SECRET_KEYS="+secretKeys)
	if opts.typescript {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	// Node may switch its stdio to non-blocking mode; wrapping the writers makes exec copy through a pipe
	// instead of handing node our own file descriptors.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("running %s", cmd)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == userActionableExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: "could not run node: " + err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// InstallDependencies runs the project's package manager install (npm ci/install, yarn, pnpm), from the
// workspace root when the program is part of an npm/yarn workspace.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	opts, err := parseOptions(req.GetInfo())
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	if root, err := npm.FindWorkspaceRoot(dir); err == nil {
		fmt.Fprintf(stdout, "Detected workspace root at %s\n", root)
		dir = root
	} else if !errors.Is(err, npm.ErrNotInWorkspace) {
		return fmt.Errorf("looking for a workspace root: %w", err)
	}
	fmt.Fprintf(stdout, "Installing dependencies...\n\n")
	if _, err := npm.Install(server.Context(), opts.packagemanager, dir, false, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := parseOptions(req.GetInfo())
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node --version: %w", err)
	}
	meta := map[string]string{"host": "ray-static build (upstream host module not served by the proxy)"}
	if pm, err := npm.ResolvePackageManager(opts.packagemanager, req.GetInfo().GetProgramDirectory()); err == nil {
		meta["packagemanager"] = pm.Name()
		if v, err := pm.Version(); err == nil {
			meta["packagemanagerVersion"] = v.String()
		}
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out)), Metadata: meta}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := parseOptions(req.GetInfo())
	if err != nil {
		return nil, err
	}
	dir := req.GetInfo().GetProgramDirectory()
	pm, err := npm.ResolvePackageManager(opts.packagemanager, dir)
	if err != nil {
		return nil, err
	}
	pkgs, err := pm.ListPackages(ctx, dir, req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("listing node dependencies: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(pkgs))
	for _, p := range pkgs {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// RuntimeOptionsPrompts: no interactive prompts (used by `pulumi new`); npm is the default package manager.
func (h *host) RuntimeOptionsPrompts(ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// GeneratePackage writes a TypeScript SDK for a schema (`pulumi package add`, `pulumi package gen-sdk`)
// with pkg/v3's codegen/nodejs; a local SDK compiles itself with tsc when npm installs it.
func (h *host) GeneratePackage(ctx context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("parsing schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, cached, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	rpcDiags := plugin.HclDiagnosticsToRPCDiagnostics(diags)
	if diags.HasErrors() {
		return &pulumirpc.GeneratePackageResponse{Diagnostics: rpcDiags}, nil
	}
	files, err := codegen.GeneratePackage("pulumi-language-nodejs", pkg, req.GetExtraFiles(),
		req.GetLocalDependencies(), req.GetLocal(), cached)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		out := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(out, data, 0o600); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{Diagnostics: rpcDiags}, nil
}

// npmName is the npm package name an SDK is generated under: the schema's nodejs.packageName, else
// @<namespace>/<name>, else @pulumi/<name> (what codegen/nodejs writes into the SDK's package.json).
func npmName(pkg *schema.Package) string {
	if info, ok := pkg.Language["nodejs"].(codegen.NodePackageInfo); ok && info.PackageName != "" {
		return info.PackageName
	}
	if pkg.Namespace != "" {
		return "@" + pkg.Namespace + "/" + pkg.Name
	}
	return "@pulumi/" + pkg.Name
}

// Link adds generated SDKs to the program's package.json as `file:` dependencies (the engine installs them
// right after, through InstallDependencies), and says how to import them.
func (h *host) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	info := req.GetInfo()
	opts, err := parseOptions(info)
	if err != nil {
		return nil, err
	}
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)
	pm, err := npm.ResolvePackageManager(opts.packagemanager, info.GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	typescript := opts.typescript || opts.tsconfig != ""
	if _, err := fsutil.Searchup(info.GetProgramDirectory(), "tsconfig.json"); err == nil {
		typescript = true
	}
	var imports strings.Builder
	for _, dep := range req.GetPackages() {
		desc := &schema.PackageDescriptor{Name: dep.GetPackage().GetName(), DownloadURL: dep.GetPackage().GetServer()}
		if v, err := semver.ParseTolerant(dep.GetPackage().GetVersion()); err == nil {
			desc.Version = &v
		}
		if p := dep.GetPackage().GetParameterization(); p != nil {
			desc.Parameterization = &schema.ParameterizationDescriptor{Name: p.GetName(), Value: p.GetValue()}
			if v, err := semver.ParseTolerant(p.GetVersion()); err == nil {
				desc.Parameterization.Version = v
			}
		}
		ref, err := schema.LoadPackageReferenceV2(ctx, cached, desc)
		if err != nil {
			return nil, err
		}
		pkg, err := ref.Definition()
		if err != nil {
			return nil, err
		}
		if err := pkg.ImportLanguages(map[string]schema.Language{"nodejs": codegen.Importer}); err != nil {
			return nil, err
		}
		name := npmName(pkg)
		if err := pm.Link(ctx, info.GetProgramDirectory(), name, dep.GetPath()); err != nil {
			return nil, err
		}
		if typescript {
			fmt.Fprintf(&imports, "  import * as %s from %q;\n", cgstrings.Camel(ref.Name()), name)
		} else {
			fmt.Fprintf(&imports, "  const %s = require(%q);\n", cgstrings.Camel(ref.Name()), name)
		}
	}
	lang := "JavaScript"
	if typescript {
		lang = "TypeScript"
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: fmt.Sprintf("You can import the SDK in your %s code with:\n\n%s", lang, imports.String()),
	}, nil
}
