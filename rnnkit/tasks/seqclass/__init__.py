"""The `seqclass` task: many-to-one classification of variable-length multichannel series (see `task`)."""
