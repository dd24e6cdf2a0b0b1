"""The RayJob component: settings, the submitter Job's objects, the submit script."""
