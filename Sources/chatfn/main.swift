print("chatfn")
