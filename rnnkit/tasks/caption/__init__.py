"""The `caption` task: image captioning (one-to-many). See `rnnkit.tasks.caption.task`."""
