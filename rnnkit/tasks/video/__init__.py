"""The `video` task: clip classification (many-to-one over frames). See `rnnkit.tasks.video.task`."""
