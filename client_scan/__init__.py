"""The library a messenger app embeds: message franking, on-device scanning against signed
hash lists, franked message records, and reports sealed to the service with an offline
outbox. It reaches the network only through one injectable transport."""
