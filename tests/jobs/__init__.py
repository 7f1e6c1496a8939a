"""Work after the answer: fetch, poll and copy jobs, the queue under them, the shared API budget."""
