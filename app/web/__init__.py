"""Server-rendered pages for people: sign-in, the journey board, issue pages, the triage queue, the
confirmation pages behind the links Seam sends, and the API docs with local assets."""
