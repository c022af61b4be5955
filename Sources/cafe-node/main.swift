print("cafe-node")
