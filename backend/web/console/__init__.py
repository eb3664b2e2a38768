"""The staff console: each staff role's pages on the parent web app's stack, calling the API's services."""
