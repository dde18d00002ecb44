"""Weekly digests per owner, team and the leadership: the week read once (`week`), arranged per
reader (`build`), rendered through the notify package's templates (`render`), queued by a scheduled job
(`jobs`) and previewed (`router`)."""
