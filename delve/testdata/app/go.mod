module example.com/delveapp

go 1.26
