"""The RayServe component: Serve config settings, the deployer Job and the keeper, the in-cluster scripts."""
