print("unirtd")
