"""What every HTTP area uses: the app factory, errors, request parsing, cursors, path ids, time windows,
admin auth, the OpenAPI registry and the Lambda adapter. Nothing here names an area or a job."""
