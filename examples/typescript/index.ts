// A platform stack: two ray-static clusters in their own namespaces, one explicit kubernetes provider.
// `@pulumi/ray-static` is the SDK `pulumi package add ../../provider` generates from the plugin's schema.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as rayStatic from "@pulumi/ray-static";

const config = new pulumi.Config();
const kubeconfig = config.get("kubeconfig");
const provider = new k8s.Provider("platform-k8s", { kubeconfig: kubeconfig || undefined });

const cpu = new rayStatic.RayCluster(
    "cpu",
    {
        namespace: "ray-ts-cpu",
        workers: config.requireNumber("cpuWorkers"),
        headResources: { cpu: "1", memory: "2Gi" },
        workerResources: { cpu: "2", memory: "4Gi" },
    },
    { providers: [provider] },
);

const gpu = new rayStatic.RayCluster(
    "gpu",
    {
        namespace: "ray-ts-gpu",
        workers: 0,
        headResources: { cpu: "1", memory: "2Gi" },
        workerGroups: [
            {
                name: "gpu",
                replicas: config.requireNumber("gpuWorkers"),
                resources: { cpu: "4", memory: "16Gi", gpus: 1 },
                tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
            },
        ],
    },
    { providers: [provider] },
);

// Where notebooks and job runners find Ray.
export const clientAddress = cpu.clientAddress;
export const gpuClientAddress = gpu.clientAddress;
export const namespaces = [cpu.namespace, gpu.namespace];
export const dashboardUrls = { cpu: cpu.dashboardUrl, gpu: gpu.dashboardUrl };
